package main

import "github.com/spf13/cobra"

func newUninstallCommand() *cobra.Command {
	var target releaseFlags
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Uninstall the release",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := target.connect()
			if err != nil {
				return err
			}
			return c.rel.Uninstall(target.release)
		},
	}
	target.add(cmd.Flags())
	return cmd
}
