// Command bench measures the backend against a real PostgreSQL and beside
// nginx serving the same bytes. It starts its own throwaway PostgreSQL
// cluster (or uses TEST_DATABASE_URL), a JWKS issuer, the server binary as a
// separate process, and nginx (Debian's, apt-get install nginx-light) serving
// the backend's own response to GET /api/tasks from a file; it loads both
// with wrk in alternating rounds, same client and settings, and prints the
// ratio. Then the cold paths, backend alone: the first listing after a write
// (a cache miss), a user with 1000 tasks, and writes. Traffic goes only to
// 127.0.0.1.
//
//	go run ./cmd/bench [-server bin/server] [-duration 10s] [-rounds 3] [-connections 16] [-profile DIR]
//
// -profile serves the server's runtime profiles (PPROF_ADDR) and saves a CPU
// profile of the first backend round and the allocations, with their tops.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/todo-app/todo-app/backend/testkit/authtest"
	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
	"github.com/todo-app/todo-app/internal/loadgen"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

type options struct {
	server      string
	duration    time.Duration
	rounds      int
	connections int
	maxRequests int64
	profile     string
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "", "server binary to measure (default: build backend/cmd/server)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each round and phase")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds of backend and nginx")
	flag.IntVar(&o.connections, "connections", 16, "parallel connections")
	flag.Int64Var(&o.maxRequests, "max-requests", 500_000, "upper bound on requests per write phase")
	flag.StringVar(&o.profile, "profile", "", "folder for CPU and allocation profiles of the server under load")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is a running server with its users.
type bench struct {
	o      options
	base   string
	client *http.Client
	issuer *authtest.Issuer
	pid    int
	// freshID is a task of bench-fresh, renamed to make its listing stale.
	freshID int64

	mu     sync.Mutex
	tokens map[string]string // by user: one token each, as a signed-in client holds
}

func run(ctx context.Context, o options) error {
	if o.server == "" {
		dir, err := os.MkdirTemp("", "todo-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.server = filepath.Join(dir, "server")
		if err := devstack.BuildBackend(ctx, ".", o.server, os.Stderr); err != nil {
			return err
		}
	}
	for _, tool := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (apt-get install wrk nginx-light): %w", tool, err)
		}
	}
	cluster, err := pgtemp.Start(ctx)
	if err != nil {
		return err
	}
	defer cluster.Stop()
	dbURL, err := cluster.NewDatabase(ctx)
	if err != nil {
		return err
	}
	issuer, err := authtest.Start()
	if err != nil {
		return err
	}
	defer issuer.Close()
	port, err := devstack.FreePort()
	if err != nil {
		return err
	}
	b := &bench{o: o, base: "http://127.0.0.1:" + strconv.Itoa(port), issuer: issuer, tokens: map[string]string{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.connections, MaxConnsPerHost: o.connections}}}

	cmd := exec.CommandContext(ctx, o.server, "serve")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "DATABASE_URL="+dbURL,
		"AUTH_JWKS_URL="+issuer.JWKSURL, "CHAT_PROVIDER=local")
	var pprofAddr string
	if o.profile != "" {
		pprofPort, err := devstack.FreePort()
		if err != nil {
			return err
		}
		pprofAddr = "127.0.0.1:" + strconv.Itoa(pprofPort)
		cmd.Env = append(cmd.Env, "PPROF_ADDR="+pprofAddr)
	}
	cmd.Stdout = io.Discard // the request log, at the server's default level
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	b.pid = cmd.Process.Pid
	if err := waitReady(ctx, b.base+"/ready", 30*time.Second); err != nil {
		return err
	}
	startToReady := time.Since(start)

	for user, n := range map[string]int{"bench": 100, "bench-1000": 1000, "bench-fresh": 100} {
		if err := b.seed(ctx, user, n); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // settle before reading idle memory
	idle, err := rssKiB(b.pid)
	if err != nil {
		return err
	}
	var peak atomic.Int64
	stopSampling := sampleRSS(b.pid, &peak)

	fmt.Printf("backend benchmark: PostgreSQL, %d cores, wrk -t1 -c%d, %s a round\n", runtime.NumCPU(), o.connections, o.duration)
	fmt.Printf("start-to-ready %s, idle RSS %.1f MiB\n\n", startToReady.Round(time.Millisecond), float64(idle)/1024)
	cmp, err := b.compareWithNginx(ctx, pprofAddr)
	if err != nil {
		return err
	}
	cold, err := b.coldPaths(ctx)
	if err != nil {
		return err
	}
	stopSampling()
	fmt.Printf("\nloaded RSS (peak) %.1f MiB\n", float64(peak.Load())/1024)
	if cmp.errors+cold.errors > 0 {
		return fmt.Errorf("%d requests failed", cmp.errors+cold.errors)
	}
	return nil
}

// token is user's bearer token, for an Authorization header.
func (b *bench) token(user string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if tok, ok := b.tokens[user]; ok {
		return tok
	}
	tok, err := b.issuer.Token(user, time.Hour)
	if err != nil {
		panic(err) // the issuer signs in memory: it cannot fail but for a bug
	}
	b.tokens[user] = tok
	return tok
}

func (b *bench) request(ctx context.Context, method, path, user string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+b.token(user))
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

// seed gives user n tasks.
func (b *bench) seed(ctx context.Context, user string, n int) error {
	for i := range n {
		req, err := b.request(ctx, http.MethodPost, "/api/tasks", user, fmt.Appendf(nil, `{"title":"task %d","description":"seeded for the benchmark"}`, i))
		if err != nil {
			return err
		}
		resp, err := b.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("seed a task of %s: %s", user, resp.Status)
		}
	}
	return nil
}

// get fetches url with headers, returning its body and content type.
func (b *bench) get(ctx context.Context, url string, headers ...string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), err
}

type outcome struct{ errors int64 }

// compareWithNginx loads the backend's listing of 100 tasks and nginx
// serving the same bytes in alternating rounds, and prints each round, the
// means and the ratio.
func (b *bench) compareWithNginx(ctx context.Context, pprofAddr string) (outcome, error) {
	auth := "Authorization: Bearer " + b.token("bench")
	body, contentType, err := b.get(ctx, b.base+"/api/tasks", auth)
	if err != nil {
		return outcome{}, err
	}
	nginx, stop, err := startNginx(ctx, body, contentType)
	if err != nil {
		return outcome{}, err
	}
	defer stop()
	served, servedType, err := b.get(ctx, nginx)
	if err != nil {
		return outcome{}, err
	}
	if !bytes.Equal(served, body) || servedType != contentType {
		return outcome{}, fmt.Errorf("nginx serves %d bytes of %s, the backend %d of %s: not the same response", len(served), servedType, len(body), contentType)
	}
	fmt.Printf("GET /api/tasks of a user with 100 tasks (listing cached): the same %d bytes of %s from both\n", len(body), contentType)
	fmt.Printf("  %-6s %14s %9s %9s   %14s %9s %9s\n", "round", "backend req/s", "p50", "p99", "nginx req/s", "p50", "p99")
	var backend, static []wrkResult
	var out outcome
	before, err := b.counters(ctx)
	if err != nil {
		return out, err
	}
	for i := range b.o.rounds {
		profiled := make(chan error, 1)
		if i == 0 && pprofAddr != "" {
			go func() { profiled <- b.profileCPU(ctx, pprofAddr, b.o.duration-2*time.Second) }()
		} else {
			profiled <- nil
		}
		r, err := runWrk(ctx, b.base+"/api/tasks", b.o.connections, b.o.duration, auth)
		if err != nil {
			return out, err
		}
		if err := <-profiled; err != nil {
			return out, err
		}
		n, err := runWrk(ctx, nginx, b.o.connections, b.o.duration)
		if err != nil {
			return out, err
		}
		backend, static = append(backend, r), append(static, n)
		out.errors += r.Errors + n.Errors
		fmt.Printf("  %-6d %14.0f %9s %9s   %14.0f %9s %9s\n", i+1, r.PerSecond, ms(r.P50), ms(r.P99), n.PerSecond, ms(n.P50), ms(n.P99))
	}
	mb, mn := mean(backend), mean(static)
	fmt.Printf("  %-6s %14.0f %9s %9s   %14.0f %9s %9s\n", "mean", mb.PerSecond, ms(mb.P50), ms(mb.P99), mn.PerSecond, ms(mn.P50), ms(mn.P99))
	fmt.Printf("  backend/nginx: %.2f of the requests per second; p99 %.1f× nginx's; failed %d\n",
		mb.PerSecond/mn.PerSecond, float64(mb.P99)/float64(mn.P99), out.errors)
	after, err := b.counters(ctx)
	if err != nil {
		return out, err
	}
	delta := func(name string) float64 { return after[name] - before[name] }
	listings := delta("todo_task_list_cache_hits_total") + delta("todo_task_list_cache_misses_total")
	fmt.Printf("  %.0f listings: %.0f served from memory with no query (notifications kept them current), %.0f version queries for the rest\n",
		listings, delta("todo_task_list_cache_trusted_hits_total"), delta("todo_task_list_version_queries_total"))
	if pprofAddr != "" {
		if err := b.profileAllocs(ctx, pprofAddr); err != nil {
			return out, err
		}
	}
	return out, nil
}

// counters reads the server's counters from /metrics, by name.
func (b *bench) counters(ctx context.Context) (map[string]float64, error) {
	body, _, err := b.get(ctx, b.base+"/metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, value, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") && !strings.Contains(name, "{") {
			if v, err := strconv.ParseFloat(value, 64); err == nil {
				out[name] = v
			}
		}
	}
	return out, nil
}

// coldPaths measures what the cache does not serve: the first listing after
// a write, a larger listing, and writes.
func (b *bench) coldPaths(ctx context.Context) (outcome, error) {
	var out outcome
	fmt.Printf("\ncold paths, backend alone:\n")
	// A write, then the listing it made stale: every read a cache miss.
	var reads []time.Duration
	deadline := time.Now().Add(b.o.duration)
	for n := 0; time.Now().Before(deadline); n++ {
		req, err := b.request(ctx, http.MethodPatch, fmt.Sprintf("/api/tasks/%d", b.freshTaskID(ctx)), "bench-fresh",
			fmt.Appendf(nil, `{"title":"renamed %d"}`, n))
		if err != nil {
			return out, err
		}
		if err := b.expect(req, http.StatusOK); err != nil {
			return out, err
		}
		start := time.Now()
		if _, _, err := b.get(ctx, b.base+"/api/tasks", "Authorization: Bearer "+b.token("bench-fresh")); err != nil {
			return out, err
		}
		reads = append(reads, time.Since(start))
	}
	slices.Sort(reads)
	fmt.Printf("  %-44s p50 %9s  p99 %9s  (%d writes, each read once after)\n", "GET /api/tasks after a write (cache miss)",
		ms(reads[len(reads)/2]), ms(reads[len(reads)*99/100]), len(reads))
	big, err := runWrk(ctx, b.base+"/api/tasks", b.o.connections, b.o.duration, "Authorization: Bearer "+b.token("bench-1000"))
	if err != nil {
		return out, err
	}
	out.errors += big.Errors
	fmt.Printf("  %-44s %7.0f req/s  p50 %9s  p99 %9s  failed %d\n", "GET /api/tasks, 1000 tasks (wrk)", big.PerSecond, ms(big.P50), ms(big.P99), big.Errors)
	// Writes: by one user, whose writes all queue for the row of its list
	// version, and by as many users as connections, closer to real traffic.
	cfg := loadgen.Config{Concurrency: b.o.connections, Duration: b.o.duration, MaxRequests: b.o.maxRequests}
	for _, users := range []int{1, b.o.connections} {
		r, err := loadgen.Run(ctx, b.client, cfg, http.StatusCreated, func(ctx context.Context, n int64) (*http.Request, error) {
			return b.request(ctx, http.MethodPost, "/api/tasks", fmt.Sprintf("bench-writer-%d-%d", users, n%int64(users)), fmt.Appendf(nil, `{"title":"created %d"}`, n))
		})
		if err != nil {
			return out, err
		}
		out.errors += r.Failures
		fmt.Printf("  %-44s %7.0f req/s  p50 %9s  p99 %9s  failed %d\n", fmt.Sprintf("POST /api/tasks, %d users (Go client)", users),
			r.PerSecond(), ms(r.Percentile(50)), ms(r.Percentile(99)), r.Failures)
	}
	return out, nil
}

// freshTaskID is a task of bench-fresh, to rename.
func (b *bench) freshTaskID(ctx context.Context) int64 {
	if b.freshID == 0 {
		body, _, err := b.get(ctx, b.base+"/api/tasks", "Authorization: Bearer "+b.token("bench-fresh"))
		if err == nil {
			if i := bytes.Index(body, []byte(`"id":`)); i >= 0 {
				b.freshID, _ = strconv.ParseInt(string(bytes.TrimRight(bytes.SplitN(body[i+5:], []byte(","), 2)[0], "}")), 10, 64)
			}
		}
	}
	return b.freshID
}

func (b *bench) expect(req *http.Request, status int) error {
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	return nil
}

func mean(rs []wrkResult) wrkResult {
	var m wrkResult
	for _, r := range rs {
		m.PerSecond += r.PerSecond / float64(len(rs))
		m.P50 += r.P50 / time.Duration(len(rs))
		m.P99 += r.P99 / time.Duration(len(rs))
	}
	return m
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func waitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("server not ready after %s", limit)
}

// rssKiB reads the resident set size of pid from /proc.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read RSS (Linux /proc needed): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("VmRSS not found")
}

// sampleRSS records the peak RSS of pid every 100 ms until stopped.
func sampleRSS(pid int, peak *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, err := rssKiB(pid); err == nil && kib > peak.Load() {
				peak.Store(kib)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
