package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/todo-app/todo-app/internal/chart"
)

// flakyCluster accepts everything, except that the next Wait fails when told:
// a release whose pods never become ready.
type flakyCluster struct {
	kubefake.PrintingKubeClient
	failNextWait atomic.Bool
}

func (c *flakyCluster) Wait(r kube.ResourceList, d time.Duration) error {
	if c.failNextWait.CompareAndSwap(true, false) {
		return errors.New("timed out waiting for the condition: deployment todo-backend: 0 of 1 updated replicas are available")
	}
	return nil
}

func (c *flakyCluster) WaitWithJobs(r kube.ResourceList, d time.Duration) error { return c.Wait(r, d) }

func newTestReleaser(t *testing.T) (*Releaser, *flakyCluster) {
	cluster := &flakyCluster{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	caps := *chartutil.DefaultCapabilities
	kv, _ := chartutil.ParseKubeVersion(chart.DefaultKubeVersion)
	caps.KubeVersion = *kv // the default claims v1.20, below the chart's kubeVersion
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   cluster,
		Capabilities: &caps,
		Log:          func(string, ...any) {},
	}
	return NewReleaser(cfg, "apps", time.Minute), cluster
}

func TestReleaseLifecycle(t *testing.T) {
	ctx := context.Background()
	r, cluster := newTestReleaser(t)
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
	cluster.failNextWait.Store(true)
	_, err = r.Apply(ctx, "todo", ch, vals("broken"))
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("failed upgrade: %v; want an error saying it was rolled back", err)
	}
	if got, want := state(), "1:superseded 2:superseded 3:failed 4:deployed"; got != want {
		t.Fatalf("history after the failed upgrade = %s, want %s", got, want)
	}
	current, _ := r.cfg.Releases.Deployed("todo")
	if !strings.Contains(current.Manifest, "todo-backend:1.1.0") {
		t.Fatalf("after rollback the deployed release is not 1.1.0")
	}

	if err := r.Rollback("todo", 1); err != nil {
		t.Fatal(err)
	}
	current, _ = r.cfg.Releases.Deployed("todo")
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
