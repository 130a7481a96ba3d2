package main

import (
	"context"
)

// Check runs everything CI needs, concurrently: lint, test, scan (CRITICAL
// fails) and deploy to an ephemeral k3s. It fails if any part fails, with a
// summary of each part.
// +cache="never"
func (m *TodoApp) Check(ctx context.Context) (string, error) {
	return runAll(ctx, []step{
		{"lint", m.Lint},
		{"test", m.Test},
		{"scan", func(ctx context.Context) (string, error) { return m.Scan(ctx, "CRITICAL") }},
		{"deploy", func(ctx context.Context) (string, error) {
			return m.Deploy(ctx, nil, "", "", nil, "nginx", "", "todo.local")
		}},
	})
}
