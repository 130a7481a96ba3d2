package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

// startNginx serves body at /api/tasks, as the backend's response with its
// content type, from a file: what the machine does for the same bytes with no
// authentication, database or application at all. Debian's nginx, with a
// worker per core as it is run in production, no access log.
func startNginx(ctx context.Context, body []byte, contentType string) (url string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "bench-nginx-")
	if err != nil {
		return "", nil, err
	}
	port, err := devstack.FreePort()
	if err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks.json"), body, 0o644); err != nil {
		return "", nil, err
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server {
    listen 127.0.0.1:%[2]d;
    location = /api/tasks { default_type %[3]s; alias %[1]s/tasks.json; }
  }
}
`, dir, port, contentType)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "nginx", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("nginx (apt-get install nginx-light): %w", err)
	}
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	url = "http://127.0.0.1:" + strconv.Itoa(port) + "/api/tasks"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("nginx did not answer %s", url)
}
