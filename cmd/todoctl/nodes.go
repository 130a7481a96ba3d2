package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/deploy"
)

func newNodesCommand() *cobra.Command {
	var (
		cluster clusterFlags
		count   int
		timeout time.Duration
		pin     []string
	)
	cmd := &cobra.Command{
		Use:   "nodes [--count N] [--pin-to-control-plane NS/NAME,…]",
		Short: "Wait for N Ready nodes, and show the nodes' table; optionally move Deployments onto the control plane",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, err := cluster.client()
			if err != nil {
				return err
			}
			start := time.Now()
			nodes, err := deploy.WaitNodes(cmd.Context(), kube, count, timeout, 2*time.Second)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), deploy.NodeTable(nodes))
			fmt.Fprintf(cmd.OutOrStdout(), "%d nodes ready in %s\n", count, time.Since(start).Round(time.Second))
			if len(pin) == 0 {
				return nil
			}
			placed, err := deploy.PinToControlPlane(cmd.Context(), kube, pin, timeout-time.Since(start), 2*time.Second)
			fmt.Fprint(cmd.OutOrStdout(), placed)
			return err
		},
	}
	cluster.add(cmd.Flags())
	cmd.Flags().IntVar(&count, "count", 1, "how many Ready nodes to wait for")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for them")
	cmd.Flags().StringSliceVar(&pin, "pin-to-control-plane", nil,
		"Deployments (namespace/name) to move onto the control plane's nodes once they exist, e.g. a test cluster's one-replica add-ons, so that draining an agent keeps them up")
	return cmd
}
