package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderDevValues(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"render", "--chart", "../../helm-chart", "-f", "../../helm-chart/values-dev.yaml",
		"--set", "secrets.betterAuthSecret=0123456789abcdef0123456789abcdef", "--set", "postgresql.auth.password=pw",
		"--set", "ingress.className=traefik"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Deployment", "kind: StatefulSet", "ingressClassName: traefik", "name: todo-todo-app-backend"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rendered manifests lack %q", want)
		}
	}
}

func TestRenderFailsClearly(t *testing.T) {
	err := run(context.Background(), []string{"render", "--chart", "../../helm-chart"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "is required") {
		t.Fatalf("err = %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"smoke"}, {"prove"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("todoctl %v succeeded", args)
		}
	}
}

// In a pipeline container (TODOCTL_TUNNELS set), an address on the user's
// loopback that no tunnel covers fails at once, saying which flag adds one.
func TestLoopbackWithoutTunnelFailsClearly(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: kind, cluster: {server: "https://127.0.0.1:36789"}}]
contexts: [{name: kind, context: {cluster: kind, user: kind}}]
current-context: kind
users: [{name: kind, user: {token: x}}]
`), 0o600)
	t.Setenv("TODOCTL_TUNNELS", "5000=loopback-5000:5000")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"wait", "--kubeconfig", kubeconfig}, "the kubeconfig's server https://127.0.0.1:36789 is on this machine's loopback"},
		{[]string{"smoke", "--url", "http://localhost:8080"}, "--tunnel=tcp://localhost:8080"},
		{[]string{"push-image", "--ref", "localhost:5001/todo/todo-backend", "--package", "x.tar"}, "--tunnel=tcp://localhost:5001"},
	} {
		err := run(t.Context(), tt.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("todoctl %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}
