package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/deploy"
)

func newInstallCommand() *cobra.Command {
	var (
		target releaseFlags
		charts chartFlags
	)
	cmd := &cobra.Command{
		Use:   "install [-f values.yaml]... [--set k=v]...",
		Short: "Install or upgrade the release atomically, and show where the new pods' start-up time went",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			ch, vals, err := charts.load()
			if err != nil {
				return err
			}
			c, err := target.connect()
			if err != nil {
				return err
			}
			existing, err := deploy.PodUIDs(ctx, c.kube, target.namespace(), target.selector())
			if err != nil {
				return err
			}
			start := time.Now()
			r, err := c.rel.Apply(ctx, target.release, ch, vals)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "release %s revision %d %s in %s\n", r.Name, r.Version, r.Info.Status, time.Since(start).Round(time.Second))
			// Where the time went: the new pods' start-up, by the cluster's clock.
			timeline, err := deploy.Timeline(ctx, c.kube, target.namespace(), target.selector(), existing)
			if err != nil {
				return err
			}
			fmt.Fprint(out, timeline)
			return nil
		},
	}
	target.add(cmd.Flags())
	charts.add(cmd.Flags())
	return cmd
}
