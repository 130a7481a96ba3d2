package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newTestCommand() *cobra.Command {
	var target releaseFlags
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the chart's helm test pods",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := target.connect()
			if err != nil {
				return err
			}
			summary, err := c.rel.Test(target.release)
			fmt.Fprint(cmd.OutOrStdout(), summary)
			return err
		},
	}
	target.add(cmd.Flags())
	return cmd
}
