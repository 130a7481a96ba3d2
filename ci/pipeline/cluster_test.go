package pipeline

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/todo-app/todo-app/ci/contract"
)

func TestK3sArgs(t *testing.T) {
	args := K3sArgs("k3s", "")
	for _, want := range []string{"server", "--node-name=server", "--tls-san=k3s", "--tls-san=127.0.0.1", "--write-kubeconfig-mode=600"} {
		if !slices.Contains(args, want) {
			t.Errorf("k3s server lacks %s: %v", want, args)
		}
	}
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--private-registry") }) {
		t.Error("a registries.yaml without a registry")
	}
	if !slices.Contains(K3sArgs("k3s", "/etc/todo-app/registries.yaml"), "--private-registry=/etc/todo-app/registries.yaml") {
		t.Error("the registries.yaml is not passed")
	}
}

func TestK3sAgentArgs(t *testing.T) {
	if got := K3sAgentArgs(AgentName(2), ""); !slices.Equal(got, []string{"k3s", "agent", "--node-name=agent-2"}) {
		t.Errorf("agent args = %q", got)
	}
	if got := K3sAgentArgs(AgentName(1), "/etc/todo-app/registries.yaml"); !slices.Contains(got, "--private-registry=/etc/todo-app/registries.yaml") {
		t.Errorf("an agent does not pull through the registry the server does: %q", got)
	}
	for n, ok := range map[int]bool{-1: false, 0: true, 2: true, MaxAgents: true, MaxAgents + 1: false} {
		if err := CheckAgents(n); (err == nil) != ok {
			t.Errorf("CheckAgents(%d) = %v", n, err)
		}
	}
}

func TestRegistriesYAML(t *testing.T) {
	for registry, want := range map[string]string{
		"localhost:5000":      "mirrors:\n  \"localhost:5000\":\n    endpoint: [\"http://registry:5000\"]\n  \"127.0.0.1:5000\":\n    endpoint: [\"http://registry:5000\"]\n",
		"127.0.0.1:5001/todo": "mirrors:\n  \"localhost:5001\":\n    endpoint: [\"http://registry:5001\"]\n  \"127.0.0.1:5001\":\n    endpoint: [\"http://registry:5001\"]\n",
		"registry.lan:5000":   "mirrors:\n  \"registry.lan:5000\":\n    endpoint: [\"http://registry:5000\"]\n",
		// localhost's subdomains are loopback too (RFC 6761), as the deploy tool's tunnels treat them.
		"registry.localhost:5002": "mirrors:\n  \"localhost:5002\":\n    endpoint: [\"http://registry:5002\"]\n  \"127.0.0.1:5002\":\n    endpoint: [\"http://registry:5002\"]\n" +
			"  \"registry.localhost:5002\":\n    endpoint: [\"http://registry:5002\"]\n",
	} {
		if got, err := RegistriesYAML(registry); err != nil || got != want {
			t.Errorf("RegistriesYAML(%s) =\n%s%v\nwant\n%s", registry, got, err, want)
		}
	}
	if _, err := RegistriesYAML("localhost"); err == nil {
		t.Error("a registry without a port was accepted")
	}
}

// What the pipeline puts in TODOCTL_TUNNELS, the real deploy tool reads:
// a loopback address on a tunnelled port passes its check, another fails it
// with the option that adds a tunnel.
func TestTunnelsWithTheDeployTool(t *testing.T) {
	if got := TunnelEnv([]int{8080, 6443}); got != "6443=loopback-6443:6443,8080=loopback-8080:8080" {
		t.Fatalf("TunnelEnv = %s", got)
	}
	root, bin := deployTool(t)
	free, err := net.Listen("tcp", "127.0.0.1:0") // the forward listens there: a port nothing else holds
	if err != nil {
		t.Fatal(err)
	}
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:"+strconv.Itoa(port)+"\"}}]\n"+
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: x}}]\n"), 0o600)
	wait := func(tunnels []int) string {
		cmd := exec.Command(filepath.Join(bin, "todoctl"), "wait", "--kubeconfig", kubeconfig, "--timeout", "1s")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), contract.TunnelEnv+"="+TunnelEnv(tunnels))
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := wait(nil); !strings.Contains(out, "--tunnel=tcp://127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("no tunnel: %s", out)
	}
	if out := wait([]int{port}); strings.Contains(out, "loopback") || !strings.Contains(out, "cluster not answering") {
		t.Errorf("with the tunnel: %s", out)
	}
}
