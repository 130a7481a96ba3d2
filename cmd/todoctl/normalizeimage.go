package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/images"
)

func newNormalizeImageCommand() *cobra.Command {
	var (
		pkg, out, base, dockerfile string
		epoch                      epochFlag
	)
	cmd := &cobra.Command{
		Use:   "normalize-image --package F --out F2 [--base B] [--dockerfile D]",
		Short: "Make a built OCI image tarball reproducible, and print its digest",
		Long: `normalize-image makes a built OCI image tarball (one or more platforms)
reproducible: every time becomes the commit's (SOURCE_DATE_EPOCH) but in the
layers of the base image B (its tarball), and the image gets D's HEALTHCHECK
(which Dagger's builds drop). It prints the result's digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := epoch.time()
			if err != nil {
				return err
			}
			stamp := images.Stamp{Epoch: when}
			if base != "" {
				if stamp.Base, err = images.DiffIDs(base); err != nil {
					return err
				}
			}
			if dockerfile != "" {
				b, err := os.ReadFile(dockerfile)
				if err != nil {
					return err
				}
				if stamp.Healthcheck, err = images.DockerfileHealthcheck(string(b)); err != nil {
					return fmt.Errorf("%s: %w", dockerfile, err)
				}
			}
			digest, err := images.NormalizeTarball(pkg, out, stamp)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "", "OCI image tarball to normalize")
	cmd.Flags().StringVar(&out, "out", "", "the tarball to write")
	cmd.Flags().StringVar(&base, "base", "", "tarball of the base image, whose layers keep their times")
	cmd.Flags().StringVar(&dockerfile, "dockerfile", "", "Dockerfile whose HEALTHCHECK the image gets")
	epoch.add(cmd.Flags())
	return cmd
}
