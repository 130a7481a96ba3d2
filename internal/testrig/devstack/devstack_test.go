//go:build localstack

package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
	"github.com/todo-app/todo-app/internal/smoke"
)

const frontendDir = "../../../frontend/.next/standalone"

func TestProductionFrontendRefusesToStartWithoutSecret(t *testing.T) {
	port, _ := FreePort()
	cmd := FrontendCommand(frontendDir, FrontendEnv(port, "http://127.0.0.1:1", "", fmt.Sprintf("http://127.0.0.1:%d", port), ""))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%v (build the frontend first: make frontend-build)", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit: %v, want status 1\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the frontend kept running without BETTER_AUTH_SECRET:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "BETTER_AUTH_SECRET is required in production") {
		t.Fatalf("no clear message:\n%s", out.String())
	}
}

// Two replicas starting at once against a fresh database both migrate Better
// Auth's tables without tripping over each other, and share the users.
func TestTwoFrontendsStartTogetherOnOneDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := pgtemp.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	db, err := cluster.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "shared-secret-0123456789abcdef-0123456789"
	var urls []string
	var wg sync.WaitGroup
	for range 2 {
		port, _ := FreePort()
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		urls = append(urls, url)
		cmd := FrontendCommand(frontendDir, FrontendEnv(port, "http://127.0.0.1:1", db, url, secret))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() }()
	}
	errs := make([]error, 2)
	for i, url := range urls {
		wg.Go(func() { errs[i] = waitOK(ctx, url+"/api/health", time.Minute) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	post := func(url, path, body string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", url)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	creds := `{"email":"both@example.com","password":"correct horse battery","name":"Both"}`
	if code := post(urls[0], "/api/auth/sign-up/email", creds); code != 200 {
		t.Fatalf("sign-up on replica 0: %d", code)
	}
	if code := post(urls[1], "/api/auth/sign-in/email", creds); code != 200 {
		t.Fatalf("sign-in on replica 1 with an account made on replica 0: %d", code)
	}
}

// What make up runs: SQLite files for both apps in a data folder, kept across
// a restart with the auth secret, so the same user finds the same tasks.
func TestDataDirKeepsTheAppAcrossRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := Options{RepoRoot: "../../..", FrontendDir: frontendDir, FrontendPort: port, Host: "localhost", DataDir: dir}
	first, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if first.URL != fmt.Sprintf("http://localhost:%d", port) {
		t.Errorf("URL = %s, want the host asked for", first.URL)
	}
	user, err := smoke.SignUp(ctx, first.URL, smoke.Options{})
	if err != nil {
		first.Stop()
		t.Fatal(err)
	}
	var reply struct {
		ToolCalls []struct{ Name string } `json:"tool_calls"`
	}
	err = user.Expect(ctx, http.MethodPost, "/api/chat", map[string]string{"message": "add buy milk"}, http.StatusOK, &reply)
	first.Stop()
	if err != nil || len(reply.ToolCalls) != 1 || reply.ToolCalls[0].Name != "add_task" {
		t.Fatalf("chat: %+v, %v", reply, err)
	}
	for _, f := range []string{"todo.db", "auth.db", "auth-secret"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the data folder lacks %s: %v", f, err)
		}
	}

	again, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Stop()
	var list struct {
		Tasks []struct{ Title string } `json:"tasks"`
	}
	// The token of the first run: its signing key and the session live on in auth.db.
	if err := user.Expect(ctx, http.MethodGet, "/api/tasks", nil, http.StatusOK, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tasks) != 1 || list.Tasks[0].Title != "buy milk" {
		t.Fatalf("after the restart the tasks are %+v, want [buy milk]", list.Tasks)
	}
}

// The production frontend, run as its image runs it, shuts down as the
// backend does: on SIGTERM it answers unready and keeps serving for
// SHUTDOWN_DELAY, then refuses new connections, lets the request in flight
// (a slow answer of the backend through its proxy) finish within
// SHUTDOWN_TIMEOUT and exits 0; one that outlasts the timeout is cut, and
// the exit is 1.
func TestFrontendShutsDownGracefully(t *testing.T) {
	for _, tt := range []struct {
		name     string
		slow     time.Duration // how long the backend takes to answer
		timeout  string        // SHUTDOWN_TIMEOUT
		wantCode int           // the frontend's exit status
		wantBody string        // what the slow request got; "" for an error
	}{
		{"the request in flight finishes", 3 * time.Second, "10s", 0, "slow answer"},
		{"one that outlasts the timeout is cut", 8 * time.Second, "1s", 1, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(tt.slow):
					io.WriteString(w, "slow answer")
				case <-r.Context().Done(): // the frontend cut it
				}
			}))
			defer backend.Close()
			port, err := FreePort()
			if err != nil {
				t.Fatal(err)
			}
			url := fmt.Sprintf("http://127.0.0.1:%d", port)
			env := append(FrontendEnv(port, backend.URL, "sqlite://"+filepath.Join(t.TempDir(), "auth.db"), url,
				"graceful-secret-0123456789abcdef-0123456789"), "SHUTDOWN_DELAY=1s", "SHUTDOWN_TIMEOUT="+tt.timeout)
			cmd := FrontendCommand(frontendDir, env)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer cmd.Process.Kill()
			if err := waitOK(t.Context(), url+"/api/health/ready", time.Minute); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			get := func(path string) (int, string, error) {
				resp, err := http.Get(url + path)
				if err != nil {
					return 0, "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), err
			}

			type result struct {
				body string
				err  error
			}
			slow := make(chan result, 1)
			go func() {
				code, body, err := get("/api/tasks") // through the frontend's proxy to the slow backend
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d", code)
				}
				slow <- result{body, err}
			}()
			time.Sleep(500 * time.Millisecond)
			signalled := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if code, _, err := get("/api/health/ready"); err != nil || code != http.StatusServiceUnavailable {
				t.Errorf("readiness during the delay: %d %v, want 503", code, err)
			}
			if code, _, err := get("/api/health"); err != nil || code != http.StatusOK {
				t.Errorf("a request during the delay: %d %v, want it served", code, err)
			}
			time.Sleep(time.Until(signalled.Add(1500 * time.Millisecond)))
			if _, _, err := get("/api/health"); err == nil {
				t.Error("a new connection was accepted after the delay")
			}

			got := <-slow
			switch {
			case tt.wantBody != "" && (got.err != nil || got.body != tt.wantBody):
				t.Errorf("the request in flight got %q, %v; want %q", got.body, got.err, tt.wantBody)
			case tt.wantBody == "" && got.err == nil:
				t.Errorf("the request that outlasted SHUTDOWN_TIMEOUT got %q, want it cut", got.body)
			}
			select {
			case err := <-exited:
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != tt.wantCode {
					t.Errorf("exit status %d, want %d\n%s", code, tt.wantCode, out.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("the frontend did not exit:\n%s", out.String())
			}
		})
	}
}
