package proof

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/todo-app/todo-app/internal/testrig/devstack"
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

// readyPod is a running, ready pod of component, owned as the chart owns it:
// PostgreSQL's by a StatefulSet, the apps' by a ReplicaSet.
func readyPod(name, component string) *corev1.Pod {
	owner := "ReplicaSet"
	if component == "postgresql" {
		owner = "StatefulSet"
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "todo", UID: types.UID(name + "-" + rand.Text()[:6]),
			Labels:          map[string]string{"app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": component},
			OwnerReferences: []metav1.OwnerReference{{Kind: owner, Name: "todo-" + component, UID: types.UID("todo-" + component), Controller: ptrTo(true)}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// fakeCluster stands for the controllers of a real cluster. A deleted pod
// first terminates (deletionTimestamp set, no longer ready) for terminating,
// then goes (so does one evicted). A ReplicaSet creates its replacement under a new name at once;
// a StatefulSet re-creates it under the same name, with a new UID, once the
// old pod is gone. Replacements are ready after onDelete (which may restart
// the real process behind them) returns.
func fakeCluster(t *testing.T, onDelete func(component string), pods ...*corev1.Pod) *fake.Clientset {
	const terminating = 100 * time.Millisecond
	objs := make([]runtime.Object, len(pods))
	for i, p := range pods {
		objs[i] = p
	}
	kube := fake.NewClientset(objs...)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	ctx := context.WithoutCancel(t.Context())
	terminate := func(namespace, name string) (bool, runtime.Object, error) {
		obj, err := kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), namespace, name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		if pod.DeletionTimestamp != nil {
			return true, nil, nil // already terminating
		}
		now := metav1.Now()
		pod.DeletionTimestamp = &now
		if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), pod, namespace); err != nil {
			return true, nil, err
		}
		component := pod.Labels["app.kubernetes.io/component"]
		statefulSet := pod.OwnerReferences[0].Kind == "StatefulSet"
		replace := func(name string) {
			if onDelete != nil {
				onDelete(component)
			}
			replacement := readyPod(name, component)
			replacement.Namespace = namespace
			if _, err := kube.CoreV1().Pods(namespace).Create(ctx, replacement, metav1.CreateOptions{}); err != nil {
				t.Errorf("re-create %s: %v", name, err)
			}
		}
		wg.Go(func() {
			time.Sleep(terminating)
			if err := kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), namespace, name); err != nil {
				t.Errorf("remove %s: %v", name, err)
			}
			if statefulSet {
				replace(name)
			}
		})
		if !statefulSet {
			wg.Go(func() { replace(component + "-" + strings.ToLower(rand.Text()[:5])) })
		}
		return true, nil, nil
	}
	kube.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return terminate(a.GetNamespace(), a.(k8stesting.DeleteAction).GetName())
	})
	// An eviction the API allows deletes the pod so.
	kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		return terminate(a.GetNamespace(), a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction).Name)
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

// Persistence restarts the real PostgreSQL, backend and frontend behind the
// fake pods: every row must survive.
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

func TestPodLossFailsWhenNothingIsRunning(t *testing.T) {
	r := PodLoss(t.Context(), env(fakeCluster(t, nil)))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no pods match") {
		t.Fatalf("result = %v", r)
	}
}

// Pod loss deletes a pod that serves: not one already terminating, which
// would test nothing.
func TestPodLossSkipsTerminatingPods(t *testing.T) {
	draining := readyPod("be-1", "backend")
	draining.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	kube := fakeCluster(t, nil, draining, readyPod("be-2", "backend"), readyPod("fe-1", "frontend"), readyPod("fe-2", "frontend"))
	l, err := loseServingPod(t.Context(), env(kube), "app.kubernetes.io/component=backend")
	if err != nil {
		t.Fatal(err)
	}
	if l.name != "be-2" {
		t.Fatalf("deleted %s, want be-2, the one serving", l.name)
	}
}

// checkTraffic checks a proof's lines: one per kind of traffic, each with
// requests and none failed.
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

func TestRunSelectsByName(t *testing.T) {
	if _, err := Run(t.Context(), Env{}, []string{"pod-loss", "levitation"}); err == nil || !strings.Contains(err.Error(), "unknown proof \"levitation\"") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(Names(), ","); got != "autoscaling,node-drain,node-loss,persistence,pod-loss,rollback,rolling-update,security" {
		t.Fatalf("Names = %s", got)
	}
}

// Load is the proofs' traffic on its own, for an operator's disturbance.
func TestLoad(t *testing.T) {
	r := Load(t.Context(), Env{URL: stack.URL}, time.Second)
	t.Log(r)
	if r.Err != nil || r.Name != "load" || !strings.HasPrefix(r.Figures, "ran ") {
		t.Fatalf("result = %v", r)
	}
	checkTraffic(t, r)
}
