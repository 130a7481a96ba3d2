package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy/deploytest"
)

func TestReleaseLifecycle(t *testing.T) {
	ctx := context.Background()
	r, cluster := deploytest.NewReleaser("apps", time.Minute)
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
	// A broken release: its new pod's image is never pulled. The atomic
	// upgrade sees it at once (not after its minute) and rolls back.
	cluster.BreakNext.Store(true)
	start := time.Now()
	_, err = r.Apply(ctx, "todo", ch, vals("broken"))
	if err == nil || !strings.Contains(err.Error(), "rolled back to revision 2") || !strings.Contains(err.Error(), "ErrImageNeverPull") {
		t.Fatalf("failed upgrade: %v; want an error naming the pod's state and saying it was rolled back", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the broken upgrade took %s to fail: it waited for what could never become ready", took)
	}
	if _, err := cluster.Kube.CoreV1().Pods("apps").Get(ctx, deploytest.BrokenPod, metav1.GetOptions{}); err == nil {
		t.Fatal("the broken pod is still there after the rollback")
	}
	if got, want := state(), "1:superseded 2:superseded 3:failed 4:deployed"; got != want {
		t.Fatalf("history after the failed upgrade = %s, want %s", got, want)
	}
	current, _ := r.Deployed("todo")
	if !strings.Contains(current.Manifest, "todo-backend:1.1.0") {
		t.Fatalf("after rollback the deployed release is not 1.1.0")
	}

	if err := r.Rollback(ctx, "todo", 1); err != nil {
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

// Installs fail as helm --atomic's do: the release is removed. A pod that
// cannot run fails the install at once; one that merely never becomes ready,
// at the timeout.
func TestFailedInstallIsRemoved(t *testing.T) {
	ch, err := chart.Load("../../helm-chart")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chart.Values([]string{"../../helm-chart/values-dev.yaml"}, []string{
		"secrets.betterAuthSecret=0123456789abcdef0123456789abcdef", "postgresql.auth.password=pw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		breakIt func(*deploytest.Cluster)
		want    string
	}{
		{"a pod that cannot run", func(c *deploytest.Cluster) { c.BreakNext.Store(true) }, "ErrImageNeverPull"},
		{"a pod that never becomes ready", func(c *deploytest.Cluster) {
			d := deploytest.RolledOut("apps", "todo-todo-app-frontend")
			d.Status.AvailableReplicas = 0
			c.Kube.AppsV1().Deployments("apps").Update(t.Context(), d, metav1.UpdateOptions{})
		}, "rollout not finished after 3s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, cluster := deploytest.NewReleaser("apps", 3*time.Second)
			tt.breakIt(cluster)
			_, err := r.Apply(t.Context(), "todo", ch, vals)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "the release has been removed") {
				t.Fatalf("install: %v; want an error containing %q saying the release was removed", err, tt.want)
			}
			if _, err := r.History("todo"); !errors.Is(err, driver.ErrReleaseNotFound) {
				t.Fatalf("history after the failed install: %v", err)
			}
		})
	}
}
