package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/deploy"
	"github.com/todo-app/todo-app/internal/proof"
)

func newProveCommand() *cobra.Command {
	var (
		target              releaseFlags
		charts              chartFlags
		app                 appFlags
		proofs, rolloutSets []string
	)
	cmd := &cobra.Command{
		Use:   "prove --url U [--host H] [--proof NAME]...",
		Short: "Run the deploy-time proofs under disturbance; -f and --set as for install",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.check("prove"); err != nil {
				return err
			}
			c, err := target.connect()
			if err != nil {
				return err
			}
			env := proof.Env{Kube: c.kube, Namespace: target.namespace(), Release: target.release, URL: app.url, Host: app.host,
				Timeout: target.timeout, RolloutSets: rolloutSets}
			// Upgrades re-apply the chart with the same -f and --set as the install, plus the proof's own.
			env.Upgrade = func(ctx context.Context, extra []string, timeout time.Duration) error {
				ch, vals, err := charts.load(extra...)
				if err != nil {
					return err
				}
				_, err = deploy.NewReleaser(c.helm, c.kube, target.namespace(), timeout).Apply(ctx, target.release, ch, vals)
				return err
			}
			env.Rollback = func(ctx context.Context, revision int) error { return c.rel.Rollback(ctx, target.release, revision) }
			env.Revision = func() (int, error) {
				r, err := c.rel.Deployed(target.release)
				if err != nil {
					return 0, err
				}
				return r.Version, nil
			}
			results, err := proof.Run(cmd.Context(), env, proofs)
			if err != nil {
				return err
			}
			var failed []string
			for _, r := range results {
				fmt.Fprintln(cmd.OutOrStdout(), r)
				if r.Err != nil {
					failed = append(failed, r.Name)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("proofs failed: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	target.add(cmd.Flags())
	charts.add(cmd.Flags())
	app.add(cmd.Flags())
	cmd.Flags().StringArrayVar(&proofs, "proof", nil, "proof to run (repeatable; default all): "+strings.Join(proof.Names(), ", "))
	cmd.Flags().StringArrayVar(&rolloutSets, "rollout-set", nil, "value of the rolling update's new release, e.g. backend.image.tag=v2 (repeatable)")
	return cmd
}
