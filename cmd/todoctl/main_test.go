package main

import (
	"bytes"
	"context"
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
