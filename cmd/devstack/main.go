// Command devstack runs the whole app locally as real processes (PostgreSQL,
// backend, standalone frontend) until interrupted. Playwright starts it for
// the end-to-end tests:
//
//	go run ./cmd/devstack -frontend frontend/.next/standalone -port 3100
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/todo-app/todo-app/internal/devstack"
)

func main() {
	frontend := flag.String("frontend", "frontend/.next/standalone", "standalone frontend build")
	backend := flag.String("backend", "", "backend binary (default: build ./backend/cmd/server)")
	root := flag.String("repo", ".", "repository root")
	port := flag.Int("port", 3100, "port of the app (the frontend)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := devstack.Start(ctx, devstack.Options{RepoRoot: *root, BackendBinary: *backend,
		FrontendDir: *frontend, FrontendPort: *port, Logs: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("todo-app running at %s (backend %s)\n", s.URL, s.BackendURL)
	<-ctx.Done()
	s.Stop()
}
