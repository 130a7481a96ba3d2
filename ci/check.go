package main

import (
	"context"
)

// Check runs everything CI needs, concurrently: lint, test, scan (CRITICAL
// fails), and prove, which deploys to an ephemeral k3s (install, rollout,
// helm test, smoke) and runs the deploy-time proofs. It fails if any part
// fails, with a summary of each part.
// +cache="never"
func (m *TodoApp) Check(ctx context.Context) (string, error) {
	return runAll(ctx, []step{
		{"lint", m.Lint},
		{"test", m.Test},
		{"scan", func(ctx context.Context) (string, error) { return m.Scan(ctx, "CRITICAL", nil) }},
		{"prove", func(ctx context.Context) (string, error) { return m.Prove(ctx, nil) }},
	})
}
