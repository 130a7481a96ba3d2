//go:build localstack

package proof

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy/deploytest"
)

// helmEnv is an Env whose Helm hooks drive an in-memory release of the real
// chart; upgrades with BrokenSets never become ready.
func helmEnv(t *testing.T) (Env, *[][]string) {
	t.Helper()
	r, cluster := deploytest.NewReleaser("todo", time.Minute)
	ch, err := chart.Load("../../helm-chart")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"secrets.betterAuthSecret=0123456789abcdef0123456789abcdef", "postgresql.auth.password=pw"}
	apply := func(ctx context.Context, sets []string) error {
		vals, err := chart.Values([]string{"../../helm-chart/values-dev.yaml"}, append(slices.Clone(base), sets...))
		if err != nil {
			return err
		}
		if slices.Contains(sets, BrokenSets[0]) {
			cluster.BreakNext.Store(true)
		}
		_, err = r.Apply(ctx, "todo", ch, vals)
		return err
	}
	if err := apply(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	var upgrades [][]string
	e := env(cluster.Kube)
	// The drain delay the rolling update's window waits out after the last old pod.
	for _, name := range []string{"todo-todo-app-backend", "todo-todo-app-frontend"} {
		d := deploytest.RolledOut("todo", name)
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Env: []corev1.EnvVar{{Name: "SHUTDOWN_DELAY", Value: "1s"}}}}
		if _, err := cluster.Kube.AppsV1().Deployments("todo").Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.Upgrade = func(ctx context.Context, sets []string, _ time.Duration) error {
		upgrades = append(upgrades, sets)
		return apply(ctx, sets)
	}
	e.Rollback = func(ctx context.Context, revision int) error { return r.Rollback(ctx, "todo", revision) }
	e.Revision = func() (int, error) {
		rel, err := r.Deployed("todo")
		if err != nil {
			return 0, err
		}
		return rel.Version, nil
	}
	return e, &upgrades
}

func TestRollingUpdate(t *testing.T) {
	e, upgrades := helmEnv(t)
	r := RollingUpdate(t.Context(), e)
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if len(*upgrades) != 1 || !strings.HasPrefix((*upgrades)[0][0], "backend.podAnnotations.todo-app/rollout=") {
		t.Fatalf("upgrades %v", *upgrades)
	}
	// The window: the two old pods terminate for deploytest.Drain; the load
	// runs past the last one's deletion for the drain delay (SHUTDOWN_DELAY).
	m := regexp.MustCompile(`window: first old pod signalled at \+\S+, the last of 2 deleted at \+\S+, load ran (\S+) past it \(drain delay 1s\)`).FindStringSubmatch(r.Figures)
	if m == nil {
		t.Fatalf("figures %q show no window", r.Figures)
	}
	if past, _ := time.ParseDuration(m[1]); past < time.Second {
		t.Fatalf("the load ran %s past the last old pod, less than the drain delay", past)
	}
	checkTraffic(t, r)
	if rev, _ := e.Revision(); rev != 2 {
		t.Fatalf("revision after the rolling update = %d, want 2", rev)
	}
}

func TestRollback(t *testing.T) {
	e, _ := helmEnv(t)
	r := Rollback(t.Context(), e)
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// 1 installed, 2 broken (failed), 3 Helm's automatic rollback, 4 the proof's rollback to 1.
	if !strings.Contains(r.Figures, "rollback to revision 1 (now 4)") {
		t.Fatalf("figures = %s", r.Figures)
	}
	checkTraffic(t, r)
}

func TestRollbackNeedsHelm(t *testing.T) {
	if r := Rollback(t.Context(), Env{}); r.Err == nil {
		t.Fatal("ran without Helm hooks")
	}
	if r := RollingUpdate(t.Context(), Env{}); r.Err == nil {
		t.Fatal("ran without Helm hooks")
	}
}
