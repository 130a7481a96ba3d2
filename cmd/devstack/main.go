// Command devstack runs the whole app locally as real processes (PostgreSQL,
// backend, standalone frontend) until interrupted. Playwright starts it for
// the end-to-end tests:
//
//	go run ./cmd/devstack -frontend frontend/.next/standalone -port 3100
//
// With -data it keeps the app's data in that folder across runs, as SQLite
// files for both apps, or in the PostgreSQL of DATABASE_URL (make up).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

func main() {
	frontend := flag.String("frontend", "frontend/.next/standalone", "standalone frontend build")
	backend := flag.String("backend", "", "backend binary (default: build backend/cmd/server)")
	root := flag.String("repo", ".", "repository root")
	port := flag.Int("port", 3100, "port of the app (the frontend)")
	host := flag.String("host", "127.0.0.1", "host name the browser uses, which sign-in trusts")
	data := flag.String("data", "", "folder that keeps the data across runs (default: a throwaway PostgreSQL)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := devstack.Start(ctx, devstack.Options{RepoRoot: *root, BackendBinary: *backend,
		FrontendDir: *frontend, FrontendPort: *port, Host: *host, DataDir: *data,
		DatabaseURL: os.Getenv("DATABASE_URL"), Logs: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("todo-app running at %s (backend %s); Ctrl-C stops it\n", s.URL, s.BackendURL)
	<-ctx.Done()
	s.Stop()
}
