package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/smoke"
)

func newSmokeCommand() *cobra.Command {
	var (
		app     appFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "smoke --url http://todo.local [--host H]",
		Short: "Check the app end to end through its Ingress, as a user would",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.check("smoke"); err != nil {
				return err
			}
			report := smoke.Run(cmd.Context(), app.url, smoke.Options{Host: app.host, Reachable: timeout})
			fmt.Fprint(cmd.OutOrStdout(), report)
			return report.Err()
		},
	}
	app.add(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the app to answer")
	return cmd
}
