package main

import "github.com/spf13/cobra"

func newRollbackCommand() *cobra.Command {
	var (
		target   releaseFlags
		revision int
	)
	cmd := &cobra.Command{
		Use:   "rollback [--revision N]",
		Short: "Roll the release back to a revision (default: the previous one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := target.connect()
			if err != nil {
				return err
			}
			return c.rel.Rollback(cmd.Context(), target.release, revision)
		},
	}
	target.add(cmd.Flags())
	cmd.Flags().IntVar(&revision, "revision", 0, "revision to roll back to; 0 is the previous one")
	return cmd
}
