package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/todo-app/todo-app/internal/chart"
)

func newPackageCommand() *cobra.Command {
	var (
		chartPath, out string
		epoch          epochFlag
	)
	cmd := &cobra.Command{
		Use:   "package [--out DIR]",
		Short: "Package the chart (.tgz), every file stamped with the commit's time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := epoch.time()
			if err != nil {
				return err
			}
			ch, err := chart.Load(chartPath)
			if err != nil {
				return err
			}
			var path string
			if when.IsZero() {
				path, err = chartutil.Save(ch, out)
			} else {
				path, err = chart.Package(ch, out, when)
			}
			if err != nil {
				return fmt.Errorf("package: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&chartPath, "chart", "helm-chart", "chart directory")
	cmd.Flags().StringVar(&out, "out", ".", "directory for the packaged chart")
	epoch.add(cmd.Flags())
	return cmd
}
