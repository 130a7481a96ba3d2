package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/proof"
)

func newLoadCommand() *cobra.Command {
	var (
		app      appFlags
		duration time.Duration
	)
	cmd := &cobra.Command{
		Use:   "load --url U [--host H] [--duration D]",
		Short: "Make users' traffic of every kind (the proofs'), and report each kind's figures",
		Long: `load makes users' traffic of every kind the proofs make, and reports each
kind's figures: run it while you disturb the app.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.check("load"); err != nil {
				return err
			}
			r := proof.Load(cmd.Context(), proof.Env{URL: app.url, Host: app.host}, duration)
			fmt.Fprintln(cmd.OutOrStdout(), r)
			return r.Err
		},
	}
	app.add(cmd.Flags())
	cmd.Flags().DurationVar(&duration, "duration", time.Minute, "how long to load the app (Ctrl-C ends it sooner)")
	return cmd
}
