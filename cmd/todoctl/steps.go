package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// step is one deploy-tool command of a plan.
type step struct {
	Name string   `json:"name"`
	Args []string `json:"args"` // the command and its flags, without "todoctl"
}

// runSteps runs the plan in file, a JSON list of steps, one after another in
// this process, and writes each as "== NAME (TIME): todoctl ARGS" followed
// by its output. It stops at the first that fails, after writing it. One
// process for a whole deploy: in a pipeline each separate command costs a
// container start.
func runSteps(ctx context.Context, file string, out io.Writer) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var plan []step
	if err := json.Unmarshal(raw, &plan); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(plan) == 0 {
		return fmt.Errorf("%s: no steps", file)
	}
	for _, s := range plan {
		if len(s.Args) == 0 || s.Args[0] == "steps" {
			return fmt.Errorf("%s: step %q is not a deploy-tool command", file, s.Name)
		}
	}
	for _, s := range plan {
		var buf bytes.Buffer
		start := time.Now()
		err := run(ctx, s.Args, &buf)
		fmt.Fprintf(out, "== %s (%s): todoctl %s\n%s", s.Name, time.Since(start).Round(time.Second), strings.Join(s.Args, " "), buf.String())
		if buf.Len() > 0 && !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
			fmt.Fprintln(out)
		}
		if err != nil {
			return fmt.Errorf("%s failed: %w", s.Name, err)
		}
	}
	return nil
}
