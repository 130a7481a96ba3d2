package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy/deploytest"
)

func TestReleaseLifecycle(t *testing.T) {
	ctx := context.Background()
	r, cluster := deploytest.NewReleaser(time.Minute)
	ch, err := chart.Load("../../helm-chart")
	if err != nil {
		t.Fatal(err)
	}
	vals := func(tag string) map[string]any {
		v, _ := chart.Values([]string{"../../helm-chart/values-dev.yaml"}, []string{
			"secrets.betterAuthSecret=0123456789abcdef0123456789abcdef", "postgresql.auth.password=pw",
			"backend.image.tag=" + tag, "frontend.image.tag=" + tag})
		return v
	}
	state := func() string {
		h, err := r.History("todo")
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, rel := range h {
			s = append(s, fmt.Sprintf("%d:%s", rel.Version, rel.Info.Status))
		}
		return strings.Join(s, " ")
	}

	if rel, err := r.Apply(ctx, "todo", ch, vals("1.0.0")); err != nil || rel.Version != 1 {
		t.Fatalf("install: %v", err)
	}
	if rel, err := r.Apply(ctx, "todo", ch, vals("1.1.0")); err != nil || rel.Version != 2 {
		t.Fatalf("upgrade: %v", err)
	}
	// A broken release: its pods never become ready, so the atomic upgrade rolls back.
	cluster.FailNextWait.Store(true)
	_, err = r.Apply(ctx, "todo", ch, vals("broken"))
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("failed upgrade: %v; want an error saying it was rolled back", err)
	}
	if got, want := state(), "1:superseded 2:superseded 3:failed 4:deployed"; got != want {
		t.Fatalf("history after the failed upgrade = %s, want %s", got, want)
	}
	current, _ := r.Deployed("todo")
	if !strings.Contains(current.Manifest, "todo-backend:1.1.0") {
		t.Fatalf("after rollback the deployed release is not 1.1.0")
	}

	if err := r.Rollback("todo", 1); err != nil {
		t.Fatal(err)
	}
	current, _ = r.Deployed("todo")
	if current.Version != 5 || !strings.Contains(current.Manifest, "todo-backend:1.0.0") {
		t.Fatalf("rollback to revision 1 deployed revision %d", current.Version)
	}
	if err := r.Uninstall("todo"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.History("todo"); !errors.Is(err, driver.ErrReleaseNotFound) {
		t.Fatalf("history after uninstall: %v", err)
	}
}
