package proof

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/todo-app/todo-app/internal/devstack"
)

// The real app serves the traffic; a fake cluster stands for Kubernetes.
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
	code := m.Run()
	stack.Stop()
	os.Exit(code)
}

func readyPod(name, component string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "todo", Labels: map[string]string{
			"app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": component}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// fakeCluster replaces every deleted pod with a new ready one after onDelete
// (which may restart the real process behind it) returns.
func fakeCluster(t *testing.T, onDelete func(component string), pods ...*corev1.Pod) *fake.Clientset {
	objs := make([]runtime.Object, len(pods))
	for i, p := range pods {
		objs[i] = p
	}
	kube := fake.NewClientset(objs...)
	var mu sync.Mutex
	components := map[string]string{}
	for _, p := range pods {
		components[p.Name] = p.Labels["app.kubernetes.io/component"]
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	kube.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.DeleteAction).GetName()
		mu.Lock()
		component := components[name]
		mu.Unlock()
		wg.Go(func() {
			if onDelete != nil {
				onDelete(component)
			}
			replacement := readyPod(name+"-r", component)
			mu.Lock()
			components[replacement.Name] = component
			mu.Unlock()
			kube.CoreV1().Pods("todo").Create(context.Background(), replacement, metav1.CreateOptions{})
		})
		return false, nil, nil // the default reactor deletes it
	})
	return kube
}

func env(kube *fake.Clientset) Env {
	return Env{Kube: kube, Namespace: "todo", Release: "todo", URL: stack.URL, Timeout: time.Minute, Poll: 50 * time.Millisecond}
}

func TestPodLoss(t *testing.T) {
	kube := fakeCluster(t, func(string) { time.Sleep(300 * time.Millisecond) },
		readyPod("be-1", "backend"), readyPod("be-2", "backend"), readyPod("fe-1", "frontend"), readyPod("fe-2", "frontend"))
	r := PodLoss(t.Context(), env(kube))
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !strings.Contains(r.Figures, "failed requests 0 of ") || strings.Contains(r.Figures, "of 0,") {
		t.Fatalf("figures = %s", r.Figures)
	}
	pods, _ := kube.CoreV1().Pods("todo").List(t.Context(), metav1.ListOptions{})
	if len(pods.Items) != 4 {
		t.Fatalf("%d pods after the proof, want 4 (two replaced)", len(pods.Items))
	}
}

// Persistence restarts the real PostgreSQL, backend and frontend behind the
// fake pods: every row must survive.
func TestPersistenceAcrossRealRestarts(t *testing.T) {
	restarted := map[string]int{}
	var mu sync.Mutex
	kube := fakeCluster(t, func(component string) {
		if err := stack.Restart(context.Background(), component); err != nil {
			t.Errorf("restart %s: %v", component, err)
		}
		mu.Lock()
		restarted[component]++
		mu.Unlock()
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

func TestPodLossFailsWhenNothingIsRunning(t *testing.T) {
	r := PodLoss(t.Context(), env(fakeCluster(t, nil)))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no pods match") {
		t.Fatalf("result = %v", r)
	}
}

func TestRunSelectsByName(t *testing.T) {
	if _, err := Run(t.Context(), Env{}, []string{"pod-loss", "levitation"}); err == nil || !strings.Contains(err.Error(), "unknown proof \"levitation\"") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(Names(), ","); got != "autoscaling,persistence,pod-loss,rollback,rolling-update,security" {
		t.Fatalf("Names = %s", got)
	}
}
