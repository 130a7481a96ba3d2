package main

import (
	"cmp"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/deploy"
)

func newWaitCommand() *cobra.Command {
	var (
		target   releaseFlags
		selector string
	)
	cmd := &cobra.Command{
		Use:   "wait [--selector L]",
		Short: "Wait for the rollout of every Deployment and StatefulSet: updated, available, no old pod left",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, err := target.client()
			if err != nil {
				return err
			}
			start := time.Now()
			status, err := deploy.Wait(cmd.Context(), kube, target.namespace(), cmp.Or(selector, target.selector()), deploy.WaitOptions{Timeout: target.timeout})
			if err != nil {
				return err
			}
			for _, s := range status {
				fmt.Fprintln(cmd.OutOrStdout(), s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rolled out in %s\n", time.Since(start).Round(time.Second))
			return nil
		},
	}
	target.add(cmd.Flags())
	cmd.Flags().StringVar(&selector, "selector", "", "label selector of the workloads to wait for (default: the release's)")
	return cmd
}
