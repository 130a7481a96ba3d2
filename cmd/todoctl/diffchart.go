package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/chart"
)

func newDiffChartCommand() *cobra.Command {
	var registry registryFlags
	cmd := &cobra.Command{
		Use:   "diff-chart --package F --ref oci://HOST/PATH/NAME:V",
		Short: "Compare a packaged chart with a published one; exit 1 when they differ",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			diffs, err := chart.DiffPublished(registry.pkg, registry.ref, registry.chartOptions(time.Time{}))
			return reportDiff(cmd.OutOrStdout(), registry.ref, diffs, err)
		},
	}
	registry.add(cmd.Flags(), "packaged chart (the rebuild)", "the published chart, e.g. oci://ghcr.io/acme/charts/todo-app:1.0.0")
	return cmd
}
