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
	)
	cmd := &cobra.Command{
		Use:   "nodes [--count N]",
		Short: "Wait for N Ready nodes, and show the nodes' table",
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
			return nil
		},
	}
	cluster.add(cmd.Flags())
	cmd.Flags().IntVar(&count, "count", 1, "how many Ready nodes to wait for")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for them")
	return cmd
}
