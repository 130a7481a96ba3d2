package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/chart"
)

func newPushCommand() *cobra.Command {
	var (
		registry registryFlags
		epoch    epochFlag
	)
	cmd := &cobra.Command{
		Use:   "push --package F --ref oci://HOST/PATH",
		Short: "Push a packaged chart (REGISTRY_USERNAME and REGISTRY_PASSWORD from the environment)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := epoch.time()
			if err != nil {
				return err
			}
			ref, err := chart.Push(registry.pkg, registry.ref, registry.chartOptions(when))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), ref)
			return nil
		},
	}
	registry.add(cmd.Flags(), "packaged chart to push", "OCI repository to push to, e.g. oci://ghcr.io/acme/charts")
	epoch.add(cmd.Flags())
	return cmd
}
