package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/proof"
)

func newNodeLossRequestCommand() *cobra.Command {
	var target releaseFlags
	cmd := &cobra.Command{
		Use:   "node-loss-request",
		Short: "Wait for the node-loss proof to ask for a node to be stopped, and print its name",
		Long: `node-loss-request waits for the node-loss proof (prove --proof node-loss) to ask
for a node to be stopped, and prints that node's name: then stop that machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, err := target.client()
			if err != nil {
				return err
			}
			node, err := proof.AwaitNodeLossRequest(cmd.Context(), proof.Env{Kube: kube, Namespace: target.namespace(), Release: target.release}, target.timeout)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), node)
			return nil
		},
	}
	target.add(cmd.Flags())
	return cmd
}
