package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/todo-app/todo-app/backend/testkit/authtest"
	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
)

var cluster *pgtemp.Cluster

func TestMain(m *testing.M) {
	var err error
	if cluster, err = pgtemp.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cluster.Stop()
	os.Exit(code)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestServeMigrateHealthcheckAndGracefulShutdown(t *testing.T) {
	dbURL, err := cluster.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	iss, err := authtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	env := map[string]string{"PORT": "0", "DATABASE_URL": dbURL, "AUTH_JWKS_URL": iss.JWKSURL, "SHUTDOWN_TIMEOUT": "10s", "PPROF_ADDR": "127.0.0.1:0"}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, envconfig.MapLookuper(env), &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "applied 3 migration(s) [1 2 3]") {
		t.Fatalf("migrate printed %q", out.String())
	}

	ctx, stop := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() { done <- run(ctx, []string{"serve"}, envconfig.MapLookuper(env), logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	base := "http://127.0.0.1:" + port

	if err := run(t.Context(), []string{"healthcheck"}, envconfig.MapLookuper(map[string]string{"PORT": port}), io.Discard, nil); err != nil {
		t.Fatalf("healthcheck against a running server: %v", err)
	}

	// Listings go through the cache, which reports on /metrics.
	tok, _ := iss.Token("alice", time.Minute)
	for range 2 {
		req, _ := http.NewRequest("GET", base+"/api/tasks", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/tasks: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"todo_task_list_cache_hits_total 1\n", "todo_task_list_cache_misses_total 1\n"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Profiles are served apart from the API, where PPROF_ADDR says.
	profiles := regexp.MustCompile(`"msg":"serving profiles","addr":"([^"]+)"`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		m = profiles.FindStringSubmatch(logs.String()) // the log is written out every 0.1 s
	}
	if m == nil {
		t.Fatalf("no profiles listener in the logs:\n%s", logs)
	}
	if resp, err := http.Get("http://" + m[1] + "/debug/pprof/cmdline"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/pprof/cmdline on %s: %v %v", m[1], resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, _ := http.Get(base + "/debug/pprof/cmdline"); resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the API serves profiles: %v", resp)
	}

	// A slow in-flight request (a large body trickling in) must complete across SIGTERM.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/api/tasks", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	pw.Write([]byte(`{"title":"written during shutdown`))
	time.Sleep(200 * time.Millisecond)
	stop() // what SIGTERM does through signal.NotifyContext
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte(`"}`))
	pw.Close()
	if code := <-inflight; code != http.StatusCreated {
		t.Fatalf("in-flight request during shutdown: status %d, want 201", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after shutdown", err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the logs:\n%s", logs)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
	if err := run(t.Context(), []string{"healthcheck"}, envconfig.MapLookuper(map[string]string{"PORT": port}), io.Discard, nil); err == nil {
		t.Fatal("healthcheck passed with no server running")
	}
}

func TestServeFailsClearlyOnBadConfig(t *testing.T) {
	err := run(t.Context(), []string{"serve"}, envconfig.MapLookuper(map[string]string{"PORT": "x"}), io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("err = %v, want one naming PORT", err)
	}
	// An unreachable database is retried, then reported; here the context ends the wait.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err = run(ctx, []string{"serve"}, envconfig.MapLookuper(map[string]string{
		"PORT": "0", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"}), io.Discard, nil)
	if err == nil || time.Since(start) < 2*time.Second {
		t.Fatalf("err = %v after %s, want a failure after retrying", err, time.Since(start))
	}
}

func TestDefaultDatabaseIsSQLiteInWorkingDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, envconfig.MapLookuper(nil), &out, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "todo.db")); err != nil || !strings.HasPrefix(out.String(), "sqlite:") {
		t.Fatalf("no embedded database in the working directory (%v): %s", err, out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(t.Context(), []string{"frobnicate"}, envconfig.MapLookuper(nil), io.Discard, nil); err == nil {
		t.Fatal("unknown command accepted")
	}
	var out bytes.Buffer
	run(t.Context(), []string{"version"}, envconfig.MapLookuper(nil), &out, nil)
	if !strings.HasPrefix(out.String(), "todo-app backend dev") {
		t.Fatalf("version printed %q", out.String())
	}
}

// After SIGTERM with SHUTDOWN_DELAY, the server keeps answering, new
// connections included, but /ready says 503 and no response keeps its
// connection open; only after the delay does it stop accepting.
func TestShutdownDelayKeepsServingWhileUnready(t *testing.T) {
	iss, err := authtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	const delay = 1500 * time.Millisecond
	env := map[string]string{"PORT": "0", "DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "todo.db"),
		"AUTH_JWKS_URL": iss.JWKSURL, "SHUTDOWN_DELAY": delay.String()}
	ctx, stop := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envconfig.MapLookuper(env), io.Discard, ready) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://127.0.0.1:" + addr[strings.LastIndex(addr, ":")+1:]
	case err := <-done:
		t.Fatalf("serve exited: %v", err)
	}
	tok, _ := iss.Token("alice", time.Minute)
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	if code := get("/ready").StatusCode; code != http.StatusOK {
		t.Fatalf("/ready before SIGTERM: %d", code)
	}
	// A proxy's pooled connection, idle when the signal comes.
	pooled := &http.Client{Transport: &http.Transport{}}
	if resp, err := pooled.Get(base + "/health"); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	stopped := time.Now()
	stop() // SIGTERM
	time.Sleep(200 * time.Millisecond)
	// The idle connection is still open: a write sent on it is served, and
	// its answer closes it. (Closing idle connections at the signal races with
	// a request the proxy is sending on one: a 502 for a POST, which no proxy retries.)
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(c httptrace.GotConnInfo) { reused = c.Reused }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "POST", base+"/api/tasks", strings.NewReader(`{"title":"sent while draining"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := pooled.Do(req)
	if err != nil {
		t.Fatalf("POST on the pooled connection while draining: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !reused || !resp.Close {
		t.Errorf("POST while draining: %d, on the pooled connection %v, closing it %v; want 201, true, true", resp.StatusCode, reused, resp.Close)
	}
	for path, want := range map[string]int{"/ready": http.StatusServiceUnavailable, "/health": http.StatusOK, "/api/tasks": http.StatusOK} {
		resp := get(path)
		if resp.StatusCode != want {
			t.Errorf("GET %s while draining: %d, want %d", path, resp.StatusCode, want)
		}
		if !resp.Close {
			t.Errorf("GET %s while draining kept its connection open", path)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if took := time.Since(stopped); took < delay {
		t.Fatalf("serve stopped %s after SIGTERM, before its delay of %s", took, delay)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Fatal("server still accepts connections after shutdown")
	}
}

// A server that cannot reach its database retries until
// DATABASE_START_TIMEOUT, then exits with the reason: it never serves half-started.
func TestServeExitsWhenTheDatabaseStaysUnreachable(t *testing.T) {
	env := map[string]string{"PORT": "0", "DATABASE_URL": "postgres://todo:pw@127.0.0.1:1/todo?connect_timeout=1",
		"DATABASE_START_TIMEOUT": "2s"}
	ready := make(chan string, 1)
	start := time.Now()
	err := run(t.Context(), []string{"serve"}, envconfig.MapLookuper(env), io.Discard, ready)
	if err == nil || !strings.Contains(err.Error(), "database not reachable after 2s") {
		t.Fatalf("serve: %v", err)
	}
	if took := time.Since(start); took < time.Second || took > 10*time.Second {
		t.Errorf("gave up after %s, want about 2s of retries", took)
	}
	select {
	case addr := <-ready:
		t.Fatalf("served on %s without a database", addr)
	default:
	}
}
