package main

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/todo-app/todo-app/ci/contract"
	"github.com/todo-app/todo-app/internal/tunnel"
)

// startTunnels forwards the loopback ports TODOCTL_TUNNELS lists, when it is
// set, once it has checked that nothing cmd reaches (its --url, the registry
// of its --ref, its kubeconfig's server) is on a loopback port left out.
func startTunnels(cmd *cobra.Command) error {
	value, set := os.LookupEnv(contract.TunnelEnv)
	if !set {
		return nil
	}
	forwards, err := contract.ParseTunnels(value)
	if err != nil {
		return err
	}
	ports := tunnel.Ports(forwards)
	flags := cmd.Flags()
	if f := flags.Lookup("url"); f != nil {
		if err := tunnel.Reachable("--url", f.Value.String(), ports); err != nil {
			return err
		}
	}
	if f := flags.Lookup("ref"); f != nil {
		host, _, _ := strings.Cut(strings.TrimPrefix(f.Value.String(), "oci://"), "/")
		if err := tunnel.Reachable("the registry", host, ports); err != nil {
			return err
		}
	}
	if flags.Lookup("kubeconfig") != nil {
		server, err := apiServer(cmd)
		if err != nil {
			return err
		}
		if err := tunnel.Reachable("the kubeconfig's server", server, ports); err != nil {
			return err
		}
	}
	// Once per process: the commands of a plan (steps) share the forwards.
	forwarding.Do(func() { err = tunnel.Start(cmd.Context(), forwards) })
	return err
}

var forwarding sync.Once

// apiServer is the address of the API server cmd's connection flags reach.
func apiServer(cmd *cobra.Command) (string, error) {
	kube := genericclioptions.NewConfigFlags(false)
	// Each flag that can choose another server than the kubeconfig's current one.
	for name, value := range map[string]*string{"kubeconfig": kube.KubeConfig, "context": kube.Context,
		"cluster": kube.ClusterName, "server": kube.APIServer} {
		*value = cmd.Flags().Lookup(name).Value.String()
	}
	rc, err := kube.ToRESTConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	return rc.Host, nil
}
