package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/ci/contract"
)

func newStepsCommand() *cobra.Command {
	var plan string
	cmd := &cobra.Command{
		Use:   "steps --plan plan.json",
		Short: `Run a plan's commands ([{"name", "args"}]) in order in one process, each reported with its time`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSteps(cmd.Context(), plan, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&plan, "plan", "", `JSON list of steps, each {"name", "args"}`)
	return cmd
}

// runSteps runs the plan in file (contract.EncodePlan's) one step after
// another in this process, and writes each as its report header followed by
// its output. It stops at the first that fails, after writing it. One
// process for a whole deploy: in a pipeline each separate command costs a
// container start.
func runSteps(ctx context.Context, file string, out io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	plan, err := contract.DecodePlan(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, s := range plan {
		var buf bytes.Buffer
		start := time.Now()
		err := run(ctx, s.Args, &buf)
		fmt.Fprintf(out, "%s%s", contract.StepHeader(s.Name, time.Since(start), "todoctl "+strings.Join(s.Args, " ")), buf.String())
		if buf.Len() > 0 && !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			fmt.Fprintln(out)
		}
		if err != nil {
			return fmt.Errorf("%s failed: %w", s.Name, err)
		}
	}
	return nil
}
