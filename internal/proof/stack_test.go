//go:build localstack

package proof

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/todo-app/todo-app/internal/testrig/devstack"
)

var stack *devstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	var err error
	stack, err = devstack.Start(ctx, devstack.Options{RepoRoot: "../..", FrontendDir: "../../frontend/.next/standalone"})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n(build the frontend first: make frontend-build)\n", err)
		os.Exit(1)
	}
	stackURL = stack.URL
	code := m.Run()
	stack.Stop()
	os.Exit(code)
}

func TestPodLoss(t *testing.T) {
	kube := fakeCluster(t, func(string) { time.Sleep(300 * time.Millisecond) },
		readyPod("be-1", "backend"), readyPod("be-2", "backend"), readyPod("fe-1", "frontend"), readyPod("fe-2", "frontend"))
	r := PodLoss(t.Context(), env(kube))
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !regexp.MustCompile(`^deleted be-1 \(serving\), replacement ready in \S+, gone in \S+; deleted fe-1 \(serving\), replacement ready in \S+, gone in \S+; failed 0 of`).MatchString(r.Figures) {
		t.Fatalf("figures = %s", r.Figures)
	}
	checkTraffic(t, r)
	pods, _ := kube.CoreV1().Pods("todo").List(t.Context(), metav1.ListOptions{})
	running, replaced := 0, 0
	for _, p := range pods.Items {
		if ready(p) {
			running++
		}
		if !slices.Contains([]string{"be-1", "be-2", "fe-1", "fe-2"}, p.Name) {
			replaced++
		}
	}
	if running != 4 || replaced != 2 {
		t.Fatalf("%d ready pods after the proof, %d of them replacements; want 4 and 2", running, replaced)
	}
}

func TestPersistenceAcrossRealRestarts(t *testing.T) {
	restarted := map[string]int{}
	var mu sync.Mutex
	kube := fakeCluster(t, func(component string) {
		mu.Lock() // the stack restarts one process at a time
		defer mu.Unlock()
		if err := stack.Restart(context.Background(), component); err != nil {
			t.Errorf("restart %s: %v", component, err)
		}
		restarted[component]++
	}, readyPod("pg-0", "postgresql"), readyPod("be-1", "backend"), readyPod("fe-1", "frontend"))
	r := Persistence(t.Context(), env(kube))
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !strings.HasPrefix(r.Figures, "rows lost 0 of 6") {
		t.Fatalf("figures = %s", r.Figures)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range []string{"postgresql", "backend", "frontend"} {
		if restarted[c] != 1 {
			t.Errorf("%s restarted %d times, want 1", c, restarted[c])
		}
	}
}

func checkTraffic(t *testing.T, r Result) {
	t.Helper()
	var kinds []string
	for _, line := range r.Lines {
		m := regexp.MustCompile(`^(\w+)\s+failed 0 of [1-9]\d*,`).FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line %q: not a kind's traffic with requests and 0 failed", line)
			continue
		}
		kinds = append(kinds, m[1])
	}
	if want := []string{"page", "auth", "reads", "writes", "chat"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds of traffic %v, want %v", kinds, want)
	}
	if !strings.Contains(r.Figures, ", writes lost 0 of ") {
		t.Errorf("figures %q: writes lost", r.Figures)
	}
}

func TestLoad(t *testing.T) {
	r := Load(t.Context(), Env{URL: stackURL}, time.Second)
	t.Log(r)
	if r.Err != nil || r.Name != "load" || !strings.HasPrefix(r.Figures, "ran ") {
		t.Fatalf("result = %v", r)
	}
	checkTraffic(t, r)
}

func TestPodLossFailsWhenNothingIsRunning(t *testing.T) {
	r := PodLoss(t.Context(), env(fakeCluster(t, nil)))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no pods match") {
		t.Fatalf("result = %v", r)
	}
}
