package proof

import (
	"context"
	"crypto/rand"
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
)

// The real app serves the traffic; a fake cluster stands for Kubernetes.

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

// stackURL is the local stack's address, once the localstack tests' TestMain
// has started it (stack_test.go); the tests here send it no traffic.
var stackURL string

func env(kube *fake.Clientset) Env {
	return Env{Kube: kube, Namespace: "todo", Release: "todo", URL: stackURL, Timeout: time.Minute, Poll: 50 * time.Millisecond}
}

// Persistence restarts the real PostgreSQL, backend and frontend behind the

// fake pods: every row must survive.

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

func TestRunSelectsByName(t *testing.T) {
	if _, err := Run(t.Context(), Env{}, []string{"pod-loss", "levitation"}); err == nil || !strings.Contains(err.Error(), "unknown proof \"levitation\"") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(Names(), ","); got != "autoscaling,node-drain,node-loss,persistence,pod-loss,rollback,rolling-update,security" {
		t.Fatalf("Names = %s", got)
	}
}

// Load is the proofs' traffic on its own, for an operator's disturbance.

func ptrTo[T any](v T) *T { return &v }
