//go:build localstack

package smoke_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/todo-app/todo-app/internal/smoke"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

// TestSmokeAgainstTheRealStack runs the smoke check against real PostgreSQL,
// backend and standalone frontend processes. It needs the frontend build
// (`make frontend-build`), which `make test` makes first.
func TestSmokeAgainstTheRealStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack, err := devstack.Start(ctx, devstack.Options{RepoRoot: "../..", FrontendDir: "../../frontend/.next/standalone", Logs: testLog{t}})
	if err != nil {
		t.Fatalf("%v\n(build the frontend first: make frontend-build)", err)
	}
	defer stack.Stop()

	report := smoke.Run(ctx, stack.URL, smoke.Options{})
	t.Logf("smoke report:\n%s", report)
	if err := report.Err(); err != nil {
		t.Fatal(err)
	}
	if len(report.Steps) != 11 || !strings.HasSuffix(report.String(), "\n11 of 11 steps passed\n") {
		t.Fatalf("ran %d steps, want 11, and says so last:\n%s", len(report.Steps), report)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	if os.Getenv("SMOKE_VERBOSE") != "" {
		l.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
