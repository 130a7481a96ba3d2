package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/images"
)

func newPushImageCommand() *cobra.Command {
	var (
		registry registryFlags
		tags     []string
	)
	cmd := &cobra.Command{
		Use:   "push-image --package F --ref HOST/REPO --tag T...",
		Short: "Push an OCI image tarball as it is under each tag (REGISTRY_USERNAME and REGISTRY_PASSWORD from the environment)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			refs, err := images.Push(registry.pkg, registry.ref, tags, registry.options())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(refs, "\n"))
			return nil
		},
	}
	registry.add(cmd.Flags(), "OCI image tarball to push", "repository to push to, e.g. ghcr.io/acme/todo-backend")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag to push the image under (repeatable)")
	return cmd
}
