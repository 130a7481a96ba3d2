package main

import (
	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/images"
)

func newDiffImageCommand() *cobra.Command {
	var registry registryFlags
	cmd := &cobra.Command{
		Use:   "diff-image --package F --ref REF",
		Short: "Compare an image tarball with a published image, down to files; exit 1 when anything differs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var diffs []string
			err := images.OpenTarball(registry.pkg, func(rebuilt images.Artifact) error {
				published, err := images.Fetch(registry.ref, registry.options())
				if err != nil {
					return err
				}
				diffs, err = images.Diff(published, rebuilt)
				return err
			})
			return reportDiff(cmd.OutOrStdout(), registry.ref, diffs, err)
		},
	}
	registry.add(cmd.Flags(), "OCI image tarball (the rebuild)", "the published image, e.g. ghcr.io/acme/todo-backend@sha256:…")
	return cmd
}
