// Package devstack runs the whole app on this machine as real processes: a
// throwaway PostgreSQL cluster (or SQLite files kept in a folder), the
// backend binary and the standalone frontend build, wired together as in
// production. End-to-end tests and the deploy tool's smoke test run against
// it, and `make up` serves the app with it.
package devstack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
)

// Options say where the built pieces are.
type Options struct {
	// RepoRoot is the repository root; the backend is built from it when BackendBinary is empty.
	RepoRoot string
	// BackendBinary is a built backend server; optional.
	BackendBinary string
	// FrontendDir is the standalone frontend build (frontend/.next/standalone).
	FrontendDir string
	// FrontendPort is where the app is served; 0 picks a free port.
	FrontendPort int
	// Host is the host name of URL, the origin sign-in trusts: 127.0.0.1
	// when empty (a browser at http://localhost:3000 needs "localhost").
	Host string
	// DataDir, when set, keeps the app's data across runs: both apps' SQLite
	// files and the auth secret (Better Auth encrypts its signing keys with
	// it). Empty: a throwaway PostgreSQL cluster, removed by Stop.
	DataDir string
	// DatabaseURL, with DataDir, is a PostgreSQL both apps use instead of
	// the SQLite files.
	DatabaseURL string
	// Logs receives both servers' output; discarded when nil.
	Logs io.Writer
}

// Stack is a running app.
type Stack struct {
	// URL is the frontend, the one origin a browser uses.
	URL string
	// BackendURL is the backend's own address.
	BackendURL string
	// DatabaseURL is the frontend's database: the shared PostgreSQL one, or
	// the auth store's SQLite file (sqlite://PATH) beside the backend's.
	DatabaseURL string

	cluster *pgtemp.Cluster
	procs   map[string]*exec.Cmd        // running servers by component
	starts  map[string]func() *exec.Cmd // how to start each again
	logs    io.Writer
	tmp     string
}

// Components that Restart knows.
const (
	Backend  = "backend"
	Frontend = "frontend"
	Database = "postgresql"
)

// Start builds what is missing, starts everything and waits until both
// servers are ready. On error, whatever started is stopped again.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	s = &Stack{procs: map[string]*exec.Cmd{}, starts: map[string]func() *exec.Cmd{}}
	started := s // what to stop on failure: a failing return has set s to nil
	defer func() {
		if err != nil {
			started.Stop()
			s = nil
		}
	}()
	if o.Logs == nil {
		o.Logs = io.Discard
	}
	if _, err := os.Stat(filepath.Join(o.FrontendDir, "server.js")); err != nil {
		return nil, fmt.Errorf("devstack: no standalone frontend build in %s (run npm run build in frontend/): %w", o.FrontendDir, err)
	}
	if s.tmp, err = os.MkdirTemp("", "todo-devstack-"); err != nil {
		return nil, err
	}
	backend := o.BackendBinary
	if backend == "" {
		backend = filepath.Join(s.tmp, "server")
		if err := BuildBackend(ctx, o.RepoRoot, backend, o.Logs); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	backendDB, secret, err := s.data(ctx, o)
	if err != nil {
		return nil, err
	}
	backendPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	frontendPort := o.FrontendPort
	if frontendPort == 0 {
		if frontendPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	s.URL = "http://" + cmp.Or(o.Host, "127.0.0.1") + ":" + strconv.Itoa(frontendPort)
	s.BackendURL = "http://127.0.0.1:" + strconv.Itoa(backendPort)

	s.logs = o.Logs
	s.starts[Backend] = func() *exec.Cmd {
		be := exec.Command(backend, "serve")
		be.Env = append(os.Environ(),
			"PORT="+strconv.Itoa(backendPort), "DATABASE_URL="+backendDB,
			"AUTH_JWKS_URL="+s.URL+"/api/auth/jwks", "AUTH_ISSUER="+s.URL, "AUTH_AUDIENCE="+s.URL,
			"CHAT_PROVIDER=local", "CHAT_RATE_LIMIT=600", "CHAT_RATE_BURST=100", "LOG_FORMAT=text")
		return be
	}
	s.starts[Frontend] = func() *exec.Cmd {
		return FrontendCommand(o.FrontendDir, FrontendEnv(frontendPort, s.BackendURL, s.DatabaseURL, s.URL, secret))
	}
	for _, c := range []string{Backend, Frontend} {
		if err := s.start(c); err != nil {
			return nil, err
		}
	}
	for _, url := range []string{s.BackendURL + "/ready", s.URL + "/api/health"} {
		if err := waitOK(ctx, url, 90*time.Second); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// data sets up where the apps keep their data: the backend's database URL,
// the frontend's (s.DatabaseURL) and the auth secret.
func (s *Stack) data(ctx context.Context, o Options) (backendDB, secret string, err error) {
	if o.DataDir == "" {
		if s.cluster, err = pgtemp.Start(ctx); err != nil {
			return "", "", err
		}
		if s.DatabaseURL, err = s.cluster.NewDatabase(ctx); err != nil {
			return "", "", err
		}
		return s.DatabaseURL, rand.Text() + rand.Text(), nil
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("devstack: data folder: %w", err)
	}
	secret, err = keptSecret(filepath.Join(dir, "auth-secret"))
	if err != nil {
		return "", "", err
	}
	if o.DatabaseURL != "" {
		s.DatabaseURL = o.DatabaseURL
		return o.DatabaseURL, secret, nil
	}
	s.DatabaseURL = "sqlite://" + filepath.Join(dir, "auth.db")
	return "sqlite://" + filepath.Join(dir, "todo.db"), secret, nil
}

// keptSecret reads the secret in file, or writes a new one there (0600).
func keptSecret(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil && len(bytes.TrimSpace(b)) >= 32 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("devstack: %w", err)
	}
	secret := rand.Text() + rand.Text()
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	return secret, nil
}

// FrontendEnv is the environment of a standalone frontend served on
// 127.0.0.1:port at publicURL; an empty secret leaves BETTER_AUTH_SECRET unset.
func FrontendEnv(port int, backendURL, databaseURL, publicURL, secret string) []string {
	env := []string{"PORT=" + strconv.Itoa(port), "HOSTNAME=127.0.0.1", "NODE_ENV=production",
		// As the image: SIGTERM drains and shuts down gracefully (src/lib/lifecycle.ts).
		"NEXT_MANUAL_SIG_HANDLE=true",
		"NEXT_TELEMETRY_DISABLED=1", "BACKEND_URL=" + backendURL, "DATABASE_URL=" + databaseURL,
		"BETTER_AUTH_URL=" + publicURL,
		// Tests sign up many users quickly from one address.
		"AUTH_RATE_LIMIT=off"}
	if secret != "" {
		env = append(env, "BETTER_AUTH_SECRET="+secret)
	}
	return env
}

// FrontendCommand runs the standalone frontend in dir with env (on top of
// this process's environment, less any BETTER_AUTH_SECRET of its own).
func FrontendCommand(dir string, env []string) *exec.Cmd {
	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BETTER_AUTH_SECRET=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func (s *Stack) start(component string) error {
	cmd := s.starts[component]()
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("devstack: start %s: %w", component, err)
	}
	s.procs[component] = cmd
	return nil
}

// Restart stops one component and starts it again, keeping its data and
// address, and waits until it is ready: what a restarted pod does.
func (s *Stack) Restart(ctx context.Context, component string) error {
	switch component {
	case Database:
		return s.cluster.Restart(ctx)
	case Backend, Frontend:
		stop(s.procs[component])
		if err := s.start(component); err != nil {
			return err
		}
		url := s.BackendURL + "/ready"
		if component == Frontend {
			url = s.URL + "/api/health"
		}
		return waitOK(ctx, url, 90*time.Second)
	}
	return fmt.Errorf("devstack: unknown component %q", component)
}

// stop ends a server: SIGTERM to its process group, SIGKILL after 10 s.
func stop(p *exec.Cmd) {
	syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Stop ends the servers and the database.
func (s *Stack) Stop() {
	for _, p := range s.procs {
		stop(p)
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

func waitOK(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: %s not ready after %s (last error: %v)", url, limit, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port free on the loopback interface now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// BuildBackend builds the backend's server binary at out from the checkout at
// repoRoot, in the backend's own module as its image does.
func BuildBackend(ctx context.Context, repoRoot, out string, logs io.Writer) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "-C", "backend", "build", "-o", out, "./cmd/server")
	build.Dir, build.Stdout, build.Stderr = repoRoot, logs, logs
	if err := build.Run(); err != nil {
		return fmt.Errorf("build backend: %w", err)
	}
	return nil
}
