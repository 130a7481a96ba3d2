// Command bench measures the backend against a real PostgreSQL: start-to-ready
// time, idle and loaded RSS, and requests/s with p50/p99 for listing 100 tasks
// and for creating tasks. It starts its own throwaway PostgreSQL cluster
// (or uses TEST_DATABASE_URL), a JWKS issuer, and the server binary as a
// separate process, and sends traffic only to 127.0.0.1.
//
//	go run ./backend/cmd/bench [-server bin/server] [-duration 10s] [-concurrency 32]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/todo-app/todo-app/backend/internal/auth/authtest"
	"github.com/todo-app/todo-app/internal/loadgen"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
	"github.com/todo-app/todo-app/internal/testrig/pgtemp"
)

func main() {
	server := flag.String("server", "", "server binary to measure (default: build ./backend/cmd/server)")
	duration := flag.Duration("duration", 10*time.Second, "length of each load phase")
	concurrency := flag.Int("concurrency", 32, "parallel connections")
	maxRequests := flag.Int64("max-requests", 500_000, "upper bound on requests per phase")
	useWrk := flag.Bool("wrk", false, "also measure the list route with wrk (apt-get install wrk), a lighter load generator")
	flag.Parse()
	if err := run(context.Background(), *server, *duration, *concurrency, *maxRequests, *useWrk); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server string, duration time.Duration, concurrency int, maxRequests int64, useWrk bool) error {
	if server == "" {
		dir, err := os.MkdirTemp("", "todo-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		server = filepath.Join(dir, "server")
		build := exec.CommandContext(ctx, "go", "build", "-o", server, "./backend/cmd/server")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build server: %w", err)
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
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	cmd := exec.CommandContext(ctx, server, "serve")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "DATABASE_URL="+dbURL,
		"AUTH_JWKS_URL="+issuer.JWKSURL, "LOG_LEVEL=warn", "CHAT_PROVIDER=local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	if err := waitReady(ctx, base+"/ready", 30*time.Second); err != nil {
		return err
	}
	startToReady := time.Since(start)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	tok, err := issuer.Token("bench-user", time.Hour)
	if err != nil {
		return err
	}
	authed := func(ctx context.Context, method, url string, body []byte) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
	// Seed exactly 100 tasks, then settle before reading idle memory.
	for i := range 100 {
		req, _ := authed(ctx, http.MethodPost, base+"/api/tasks", fmt.Appendf(nil, `{"title":"task %d","description":"seeded for the benchmark"}`, i))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("seed task: %s", resp.Status)
		}
	}
	time.Sleep(time.Second)
	idle, err := rssKiB(cmd.Process.Pid)
	if err != nil {
		return err
	}

	var peak atomic.Int64
	stopSampling := sampleRSS(cmd.Process.Pid, &peak)
	cfg := loadgen.Config{Concurrency: concurrency, Duration: duration, MaxRequests: maxRequests}
	list, err := loadgen.Run(ctx, client, cfg, http.StatusOK, func(ctx context.Context, _ int64) (*http.Request, error) {
		return authed(ctx, http.MethodGet, base+"/api/tasks", nil)
	})
	if err != nil {
		return err
	}
	// Creates go to other users so the listed user keeps exactly 100 tasks:
	// one user, whose writes all contend for the row of its list version, and
	// as many users as connections, closer to real traffic.
	creates := make([]loadgen.Result, 2)
	for i, users := range []int{1, concurrency} {
		toks := make([]string, users)
		for u := range toks {
			if toks[u], err = issuer.Token(fmt.Sprintf("bench-writer-%d-%d", users, u), time.Hour); err != nil {
				return err
			}
		}
		creates[i], err = loadgen.Run(ctx, client, cfg, http.StatusCreated, func(ctx context.Context, n int64) (*http.Request, error) {
			req, err := authed(ctx, http.MethodPost, base+"/api/tasks", fmt.Appendf(nil, `{"title":"created %d"}`, n))
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+toks[n%int64(users)])
			}
			return req, err
		})
		if err != nil {
			return err
		}
	}
	stopSampling()

	fmt.Printf("backend benchmark (PostgreSQL, %d connections, %s per phase, %d cores)\n", concurrency, duration, runtime.NumCPU())
	fmt.Printf("%-28s %10s\n", "start-to-ready", startToReady.Round(time.Millisecond))
	fmt.Printf("%-28s %8.1f MiB\n", "idle RSS", float64(idle)/1024)
	fmt.Printf("%-28s %8.1f MiB\n", "loaded RSS (peak)", float64(peak.Load())/1024)
	for _, p := range []struct {
		name string
		r    loadgen.Result
	}{{"GET /api/tasks (100 tasks)", list}, {"POST /api/tasks (1 user)", creates[0]},
		{fmt.Sprintf("POST /api/tasks (%d users)", concurrency), creates[1]}} {
		fmt.Printf("%-28s %8.0f req/s  p50 %-9s p99 %-9s requests %d  failed %d\n", p.name, p.r.PerSecond(),
			p.r.Percentile(50).Round(10*time.Microsecond), p.r.Percentile(99).Round(10*time.Microsecond), p.r.Requests, p.r.Failures)
	}
	if useWrk {
		// wrk's C client leaves more of the two cores to the server and PostgreSQL.
		out, err := exec.CommandContext(ctx, "wrk", "-t2", fmt.Sprintf("-c%d", concurrency), fmt.Sprintf("-d%s", duration),
			"--latency", "-H", "Authorization: Bearer "+tok, base+"/api/tasks").CombinedOutput()
		if err != nil {
			return fmt.Errorf("wrk: %w\n%s", err, out)
		}
		fmt.Printf("%-28s %s\n", "GET /api/tasks with wrk", wrkSummary(string(out)))
	}
	if list.Failures+creates[0].Failures+creates[1].Failures > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

// wrkSummary picks req/s, p50, p99 and errors out of wrk's report.
func wrkSummary(report string) string {
	var rps, p50, p99, errs string
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			rps = f[1]
		case len(f) == 2 && f[0] == "50%":
			p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			p99 = f[1]
		case strings.Contains(line, "Non-2xx") || strings.Contains(line, "Socket errors"):
			errs += strings.TrimSpace(line) + " "
		}
	}
	if errs == "" {
		errs = "failed 0"
	}
	return fmt.Sprintf("%8s req/s  p50 %-9s p99 %-9s %s", rps, p50, p99, errs)
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
