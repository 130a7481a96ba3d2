package devstack

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/todo-app/todo-app/internal/pgtemp"
)

const frontendDir = "../../frontend/.next/standalone"

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
