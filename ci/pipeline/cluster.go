package pipeline

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/todo-app/todo-app/ci/contract"
)

// K3sServer is where k3s's own kubeconfig points: its API server on the
// container's loopback. Each consumer rewrites it to where it reaches the API.
const K3sServer = "https://127.0.0.1:6443"

// ServerNodeName is the server's node name; agents are AgentName(i).
const ServerNodeName = "server"

// K3sArgs are the arguments of `k3s server` in a Dagger service. The API
// server's certificate also names the host the deploy tool's container binds
// the service under, and the loopback a served cluster is forwarded to; the
// kubeconfig, which holds the cluster's admin key, is readable by root only.
func K3sArgs(serviceHost string, privateRegistry string) []string {
	args := []string{"k3s", "server", "--node-name=" + ServerNodeName, "--tls-san=" + serviceHost, "--tls-san=127.0.0.1", "--tls-san=localhost",
		"--write-kubeconfig-mode=600", "--egress-selector-mode=disabled"}
	if privateRegistry != "" {
		args = append(args, "--private-registry="+privateRegistry)
	}
	return args
}

// AgentName is the node name of the cluster's i-th agent (from 1).
func AgentName(i int) string { return "agent-" + strconv.Itoa(i) }

// MaxAgents bounds --agents: each agent is a node container (0.4-0.8 GiB).
const MaxAgents = 5

// CheckAgents refuses an agent count the pipeline cannot start.
func CheckAgents(n int) error {
	if n < 0 || n > MaxAgents {
		return fmt.Errorf("--agents=%d: give 0 (a one-node cluster) to %d", n, MaxAgents)
	}
	return nil
}

// K3sAgentArgs are the arguments of `k3s agent` joining a server (K3S_URL
// and K3S_TOKEN in its environment) as the node name.
func K3sAgentArgs(name string, privateRegistry string) []string {
	args := []string{"k3s", "agent", "--node-name=" + name}
	if privateRegistry != "" {
		args = append(args, "--private-registry="+privateRegistry)
	}
	return args
}

// RegistriesYAML is k3s's registries.yaml for a registry on the caller's
// machine, reached through its tunnel bound as RegistryTunnelHost: images
// named after the registry (localhost:5000/…, and 127.0.0.1:5000/… for a
// loopback one) are pulled from the tunnel, over plain http.
func RegistriesYAML(registry string) (string, error) {
	host := RegistryHost(registry)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		return "", fmt.Errorf("registry %q: give its port, e.g. localhost:5000", registry)
	}
	names := []string{host}
	if contract.IsLoopback(name) {
		// The caller's images may name the registry by any of its loopback names.
		names = []string{"localhost:" + port, "127.0.0.1:" + port}
		if !slices.Contains(names, host) {
			names = append(names, host)
		}
	}
	var b strings.Builder
	b.WriteString("mirrors:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %q:\n    endpoint: [%q]\n", n, "http://"+RegistryTunnelHost+":"+port)
	}
	return b.String(), nil
}

// TunnelAlias is the host a tunnel of the caller's loopback port is bound under.
func TunnelAlias(port int) string { return "loopback-" + strconv.Itoa(port) }

// TunnelEnv is contract.TunnelEnv's value for tunnels of these ports.
func TunnelEnv(ports []int) string {
	fs := make([]contract.Forward, len(ports))
	for i, p := range ports {
		fs[i] = contract.Forward{Port: p, Target: net.JoinHostPort(TunnelAlias(p), strconv.Itoa(p))}
	}
	return contract.FormatTunnels(fs)
}
