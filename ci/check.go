package main

import (
	"context"
)

// Check runs everything CI needs, concurrently: lint, test, scan (CRITICAL
// fails), and prove, which deploys to an ephemeral k3s (install, rollout,
// helm test, smoke) and runs the deploy-time proofs (the image scan is its
// own part, run once). It reports each part's status and time, and the end of
// every failed part's output; on failure that report is the error.
// +cache="never"
func (m *TodoApp) Check(ctx context.Context) (string, error) {
	return runAll(ctx, []step{
		{"lint", m.Lint},
		{"test", m.Test},
		{"scan", func(ctx context.Context) (string, error) { return m.Scan(ctx, "CRITICAL", nil) }},
		{"prove", func(ctx context.Context) (string, error) { return m.prove(ctx, nil, 0, false) }},
	})
}
