package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/sbom"
)

func newNormalizeSBOMCommand() *cobra.Command {
	var (
		pkg, out string
		epoch    epochFlag
	)
	cmd := &cobra.Command{
		Use:   "normalize-sbom --package F --out F2",
		Short: "Make a CycloneDX SBOM (Trivy's) reproducible",
		Long: `normalize-sbom makes a CycloneDX SBOM (Trivy's) reproducible: its bom-refs and
serialNumber are derived from its content, its timestamp is the commit's
(SOURCE_DATE_EPOCH).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			when, err := epoch.time()
			if err != nil {
				return err
			}
			if when.IsZero() {
				return errors.New("normalize-sbom: no epoch: give the commit's time (--source-date-epoch or SOURCE_DATE_EPOCH)")
			}
			doc, err := os.ReadFile(pkg)
			if err != nil {
				return err
			}
			normalized, err := sbom.Normalize(doc, when)
			if err != nil {
				return fmt.Errorf("%s: %w", pkg, err)
			}
			return os.WriteFile(out, normalized, 0o644)
		},
	}
	cmd.Flags().StringVar(&pkg, "package", "", "the SBOM to normalize")
	cmd.Flags().StringVar(&out, "out", "", "the file to write")
	epoch.add(cmd.Flags())
	return cmd
}
