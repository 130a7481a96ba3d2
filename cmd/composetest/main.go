// Command composetest runs compose.yaml for real, as a newcomer does, on the
// Docker Engine the docker CLI reaches: the stack comes up from its images
// (built by compose, or loaded from tarballs), its health is awaited, the
// smoke client runs through the published port (by localhost and by
// 127.0.0.1), a task is kept across `down` and `up`, and everything is
// removed at the end (`down -v`). Its .env is generated the way a user would
// fill it in, with a database password of the characters that broke URLs
// (/+=@:%). Without a Docker Engine it says so and fails: it never passes
// without running.
//
//	go run ./cmd/composetest [-build | -load backend.tar,frontend.tar]
//
// Each step prints a line with its time, then a count.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/todo-app/todo-app/internal/smoke"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

// images are what compose.yaml runs, by service.
var images = map[string]string{"backend": "todo-backend:local", "frontend": "todo-frontend:local"}

type composeTest struct {
	project, envFile, port string
	build                  bool
}

func main() {
	build := flag.Bool("build", false, "let compose build both images (docker compose up --build)")
	load := flag.String("load", "", "image tarballs to load first, backend's then frontend's, comma-separated (docker load)")
	flag.Parse()
	ctx := context.Background()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		fmt.Printf("compose test: no Docker Engine reachable (docker version: %v: %s): nothing was tested\n", err, strings.TrimSpace(string(out)))
		os.Exit(2)
	}
	port, err := devstack.FreePort()
	if err != nil {
		fatal(err)
	}
	t := &composeTest{project: "todo-app-composetest-" + strings.ToLower(rand.Text()[:6]), port: fmt.Sprint(port), build: *build}
	if t.envFile, err = writeEnv(t.port); err != nil {
		fatal(err)
	}
	defer os.Remove(t.envFile)
	steps := []struct {
		name string
		run  func(context.Context) (string, error)
	}{
		{"images", func(ctx context.Context) (string, error) { return t.images(ctx, *load) }},
		{"up", t.up},
		{"smoke (localhost)", func(ctx context.Context) (string, error) { return t.smoke(ctx, "localhost") }},
		{"smoke (127.0.0.1)", func(ctx context.Context) (string, error) { return t.smoke(ctx, "127.0.0.1") }},
		{"persistence", t.persistence},
	}
	passed, failed := 0, 0
	for _, s := range steps {
		start := time.Now()
		detail, err := s.run(ctx)
		took := time.Since(start).Seconds()
		if err != nil {
			failed++
			// The stack's logs first: what CI keeps of a run is its end, and
			// that should be why the step failed.
			if logs, lerr := t.compose(ctx, "logs", "--no-color", "--tail", "30"); lerr == nil {
				fmt.Println("the stack's last log lines:\n    " + strings.ReplaceAll(strings.TrimSpace(logs), "\n", "\n    "))
			}
			fmt.Printf("%-18s FAIL %6.1fs  %s\n", s.name, took, strings.ReplaceAll(err.Error(), "\n", "\n    "))
			break // each step needs the ones before it
		}
		passed++
		fmt.Printf("%-18s ok   %6.1fs  %s\n", s.name, took, detail)
	}
	start := time.Now()
	if _, err := t.compose(ctx, "down", "-v", "--remove-orphans"); err != nil {
		failed++
		fmt.Printf("%-18s FAIL %6.1fs  %v\n", "down -v", time.Since(start).Seconds(), err)
	} else {
		passed++
		fmt.Printf("%-18s ok   %6.1fs  containers, network and volume removed\n", "down -v", time.Since(start).Seconds())
	}
	fmt.Println(summary(passed, failed, len(steps)+1))
	if failed > 0 {
		os.Exit(1)
	}
}

// summary is the count line: steps after a failed one are not run, and are
// counted as such rather than as failures.
func summary(passed, failed, total int) string {
	line := fmt.Sprintf("compose: %d passed, %d failed", passed, failed)
	if notRun := total - passed - failed; notRun > 0 {
		line += fmt.Sprintf(", %d not run", notRun)
	}
	return line
}

// compose runs docker compose on the repository's compose.yaml under this
// test's project name and .env.
func (t *composeTest) compose(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose", "-p", t.project, "--env-file", t.envFile, "-f", "compose.yaml"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker compose %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 25))
	}
	return out.String(), nil
}

// images makes both images available: loaded from tarballs, built by compose
// (at up), or already there.
func (t *composeTest) images(ctx context.Context, load string) (string, error) {
	switch {
	case t.build:
		return "compose builds them at up", nil
	case load != "":
		tarballs := strings.Split(load, ",")
		if len(tarballs) != 2 {
			return "", fmt.Errorf("-load %q: want the backend's tarball, then the frontend's", load)
		}
		for i, service := range []string{"backend", "frontend"} {
			out, err := exec.CommandContext(ctx, "docker", "load", "-i", tarballs[i]).CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("docker load -i %s: %w\n%s", tarballs[i], err, out)
			}
			id, err := loadedImage(string(out))
			if err != nil {
				return "", fmt.Errorf("docker load -i %s: %w", tarballs[i], err)
			}
			if out, err := exec.CommandContext(ctx, "docker", "tag", id, images[service]).CombinedOutput(); err != nil {
				return "", fmt.Errorf("docker tag %s %s: %w\n%s", id, images[service], err, out)
			}
		}
		return "loaded " + filepath.Base(tarballs[0]) + " and " + filepath.Base(tarballs[1]), nil
	}
	for _, image := range images {
		if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", image).CombinedOutput(); err != nil {
			return "", fmt.Errorf("no image %s: give -build or -load (%s)", image, strings.TrimSpace(string(out)))
		}
	}
	return "todo-backend:local and todo-frontend:local already there", nil
}

// loadedImage is the image docker load reports: by name, else by ID.
func loadedImage(out string) (string, error) {
	if m := regexp.MustCompile(`(?m)^Loaded image: (\S+)$`).FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	if m := regexp.MustCompile(`(?m)^Loaded image ID: (sha256:[0-9a-f]{64})$`).FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	return "", fmt.Errorf("docker load named no image: %q", strings.TrimSpace(out))
}

// up starts the stack and waits until every service is healthy.
func (t *composeTest) up(ctx context.Context) (string, error) {
	args := []string{"up", "-d", "--wait", "--wait-timeout", "300"}
	if t.build {
		args = append(args, "--build")
	} else {
		args = append(args, "--no-build")
	}
	start := time.Now()
	if _, err := t.compose(ctx, args...); err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres, backend and frontend healthy %.0fs after up", time.Since(start).Seconds()), nil
}

// smoke runs the smoke client through the published port, by host.
func (t *composeTest) smoke(ctx context.Context, host string) (string, error) {
	url := "http://" + host + ":" + t.port
	report := smoke.Run(ctx, url, smoke.Options{Reachable: time.Minute})
	if err := report.Err(); err != nil {
		return "", fmt.Errorf("%s:\n%s", url, report)
	}
	return fmt.Sprintf("%s: %d of %d steps passed", url, len(report.Steps), len(report.Steps)), nil
}

// persistence adds a task, takes the stack down (keeping its volume) and up
// again, and finds the task with the same token: tasks and the auth keys
// that signed the token were both kept.
func (t *composeTest) persistence(ctx context.Context) (string, error) {
	url := "http://localhost:" + t.port
	s, err := smoke.SignUp(ctx, url, smoke.Options{})
	if err != nil {
		return "", err
	}
	title := "kept across down and up " + rand.Text()[:6]
	if err := s.Expect(ctx, http.MethodPost, "/api/tasks", map[string]string{"title": title}, http.StatusCreated, nil); err != nil {
		return "", err
	}
	if _, err := t.compose(ctx, "down"); err != nil {
		return "", err
	}
	start := time.Now()
	if _, err := t.up(ctx); err != nil {
		return "", err
	}
	healthy := time.Since(start)
	var list struct {
		Tasks []struct{ Title string } `json:"tasks"`
	}
	if err := s.Expect(ctx, http.MethodGet, "/api/tasks", nil, http.StatusOK, &list); err != nil {
		return "", fmt.Errorf("after down and up: %w", err)
	}
	for _, task := range list.Tasks {
		if task.Title == title {
			return fmt.Sprintf("the task and the token outlived down and up (healthy again in %.0fs)", healthy.Seconds()), nil
		}
	}
	return "", fmt.Errorf("after down and up the user's tasks are %v: %q is lost", list.Tasks, title)
}

// writeEnv writes the .env a user fills in from .env.example, with a
// database password of the characters that break URLs.
func writeEnv(port string) (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	env := strings.Join([]string{
		"POSTGRES_PASSWORD=" + awkwardPassword(),
		"BETTER_AUTH_SECRET=" + hex.EncodeToString(secret),
		"APP_HOST=localhost",
		"APP_PORT=" + port,
		"BIND_ADDRESS=127.0.0.1",
		"EXTRA_TRUSTED_ORIGINS=",
		"OPENAI_API_KEY=", "OPENAI_BASE_URL=", "OPENAI_MODEL=gpt-4o-mini",
	}, "\n") + "\n"
	f, err := os.CreateTemp("", "composetest-*.env")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(env)
	return f.Name(), err
}

// awkwardPassword is random, and holds each character that a URL treats
// specially, as a base64 secret does about half the time.
func awkwardPassword() string {
	return rand.Text()[:12] + "/+=@:%" + rand.Text()[:8]
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fatal(err error) {
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "composetest:", err)
	os.Exit(2)
}
