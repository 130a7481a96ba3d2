//go:build localstack

package proof

import (
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// on places a pod on a node.
func on(node string, p *corev1.Pod) *corev1.Pod {
	p.Spec.NodeName = node
	return p
}

// drainCluster is three nodes: agent-1 holds a replica of each app, a
// DaemonSet's pod and a one-replica workload off the serving path; agent-2 the other replicas and PostgreSQL; the server a
// one-replica ingress controller. The Eviction API refuses the first
// eviction of a backend pod (its PodDisruptionBudget).
func drainCluster(t *testing.T) (*fake.Clientset, *atomic.Int32) {
	daemon := on("agent-1", readyPod("kube-router-x", "router"))
	daemon.Namespace, daemon.OwnerReferences = "kube-system", []metav1.OwnerReference{{Kind: "DaemonSet", Name: "kube-router", Controller: ptrTo(true)}}
	ingress := on("server", readyPod("traefik-x", "traefik"))
	ingress.Namespace, ingress.Labels = "kube-system", map[string]string{"app.kubernetes.io/name": "traefik"}
	ingress.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "traefik", UID: "traefik-rs", Controller: ptrTo(true)}}
	kube := fakeCluster(t, nil,
		on("agent-1", readyPod("be-1", "backend")), on("agent-1", readyPod("fe-1", "frontend")), daemon,
		on("agent-2", readyPod("be-2", "backend")), on("agent-2", readyPod("fe-2", "frontend")), on("agent-2", readyPod("pg-0", "postgresql")),
		ingress)
	for _, name := range []string{"server", "agent-1", "agent-2"} {
		kube.Tracker().Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	for name, replicas := range map[string]int32{"todo-backend": 2, "todo-frontend": 2} {
		kube.Tracker().Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "todo"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo(replicas)}})
	}
	kube.Tracker().Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: "kube-system"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo(int32(1))}})
	// Traefik is the ingress controller behind a LoadBalancer Service; metrics-server is not on the path.
	kube.Tracker().Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "traefik", Namespace: "kube-system"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app.kubernetes.io/name": "traefik"}}})
	metrics := on("agent-1", readyPod("metrics-server-x", "metrics")) // (in the fake cluster's one namespace)
	metrics.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "todo-metrics", UID: "metrics-rs", Controller: ptrTo(true)}}
	kube.Tracker().Add(metrics)
	kube.Tracker().Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "todo-metrics", Namespace: "todo"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo(int32(1))}})
	kube.Tracker().Add(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "todo-postgresql", Namespace: "todo"}, Spec: appsv1.StatefulSetSpec{Replicas: ptrTo(int32(1))}})
	var refused atomic.Int32
	kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		eviction := a.(k8stesting.CreateAction).GetObject().(*policyv1.Eviction)
		if strings.HasPrefix(eviction.Name, "be-") && refused.Add(1) == 1 {
			return true, nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 1)
		}
		return false, nil, nil // evicted as the fake cluster deletes
	})
	// The fake's list ignores field selectors: filter by node as the API does.
	kube.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		node, ok := a.(k8stesting.ListAction).GetListRestrictions().Fields.RequiresExactMatch("spec.nodeName")
		if !ok {
			return false, nil, nil
		}
		all, err := kube.Tracker().List(corev1.SchemeGroupVersion.WithResource("pods"), corev1.SchemeGroupVersion.WithKind("Pod"), "")
		if err != nil {
			return true, nil, err
		}
		list := &corev1.PodList{}
		for _, p := range all.(*corev1.PodList).Items {
			if p.Spec.NodeName == node {
				list.Items = append(list.Items, p)
			}
		}
		return true, list, nil
	})
	return kube, &refused
}

func TestNodeDrain(t *testing.T) {
	kube, refused := drainCluster(t)
	r := NodeDrain(t.Context(), env(kube))
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !regexp.MustCompile(`^drained agent-1: evicted 3 pods \(2 of the apps\), 1 refusals by a PodDisruptionBudget; window: first eviction at \+\S+, all through at \+\S+, last evicted pod deleted at \+\S+, replacements ready at \+\S+, load ran \S+ past it; failed 0 of`).MatchString(r.Figures) {
		t.Fatalf("figures = %s", r.Figures)
	}
	if refused.Load() < 2 {
		t.Fatalf("the refused eviction was not retried")
	}
	checkTraffic(t, Result{Figures: r.Figures, Lines: r.Lines[:len(r.Lines)-2]})
	if before := r.Lines[len(r.Lines)-2]; before != "before: backend on agent-1, agent-2; frontend on agent-1, agent-2; metrics on agent-1; postgresql on agent-2" {
		t.Errorf("placement %q", before)
	}
	if _, err := kube.CoreV1().Pods("kube-system").Get(t.Context(), "kube-router-x", metav1.GetOptions{}); err != nil {
		t.Errorf("the DaemonSet's pod was evicted: %v", err)
	}
	node, err := kube.CoreV1().Nodes().Get(t.Context(), "agent-1", metav1.GetOptions{})
	if err != nil || node.Spec.Unschedulable {
		t.Errorf("agent-1 left cordoned (%v)", err)
	}
}

// A node whose drain would take down a one-replica part of the serving path
// (the database, the ingress controller) is not drained.
func TestNodeDrainSparesOneReplicaWorkloads(t *testing.T) {
	kube, _ := drainCluster(t)
	// PostgreSQL moves to agent-1: now each node with app replicas holds a single-replica pod.
	kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "todo", "pg-0")
	kube.Tracker().Add(on("agent-1", readyPod("pg-0", "postgresql")))
	moveTo(t, kube, "kube-system", "traefik-x", "agent-2")
	r := NodeDrain(t.Context(), env(kube))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "agent-1: 2 app replicas and todo/pg-0") || !strings.Contains(r.Err.Error(), "agent-2: 2 app replicas and kube-system/traefik-x") {
		t.Fatalf("result = %v", r)
	}
}
