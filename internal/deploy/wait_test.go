package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const sel = "app.kubernetes.io/instance=todo"

func labelsOf() map[string]string { return map[string]string{"app.kubernetes.io/instance": "todo"} }

func deployment(name string, replicas, available, updated int32, generation, observed int64) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps", Labels: labelsOf(), Generation: generation},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas,
			UpdatedReplicas: updated, AvailableReplicas: available, ReadyReplicas: available},
	}
}

func TestDoneRules(t *testing.T) {
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"all ready", deployment("a", 2, 2, 2, 3, 3), true},
		{"controller has not seen the new spec", deployment("a", 2, 2, 2, 4, 3), false},
		{"old pods still serving", deployment("a", 2, 2, 1, 3, 3), false},
		{"new pods not available yet", deployment("a", 2, 1, 2, 3, 3), false},
	}
	for _, tt := range tests {
		if got := deploymentStatus(*tt.d).Done(); got != tt.want {
			t.Errorf("%s: Done = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A scripted rollout: the backend becomes ready on the third poll.
func TestWaitSucceedsWhenEveryWorkloadIsReady(t *testing.T) {
	kube := fake.NewClientset(deployment("todo-backend", 2, 0, 0, 2, 1), deployment("todo-frontend", 1, 1, 1, 1, 1))
	var polls atomic.Int32
	kube.PrependReactor("list", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if polls.Add(1) < 3 {
			return false, nil, nil // the stored, unready state
		}
		return true, &appsv1.DeploymentList{Items: []appsv1.Deployment{
			*deployment("todo-backend", 2, 2, 2, 2, 2), *deployment("todo-frontend", 1, 1, 1, 1, 1)}}, nil
	})
	status, err := Wait(context.Background(), kube, "apps", sel, WaitOptions{Timeout: 10 * time.Second, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 2 || polls.Load() != 3 {
		t.Fatalf("status %v after %d polls", status, polls.Load())
	}
}

// A cluster that refuses the first requests (its API server still starting)
// is asked again; one that never answers fails with its error at the timeout.
func TestWaitRetriesAClusterThatDoesNotAnswerYet(t *testing.T) {
	refused := errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	for _, tt := range []struct {
		name     string
		failures int32
		timeout  time.Duration // a wait that ends returns at once; the bound matters only to one that cannot
		wantErr  string
	}{
		{"answers on the third poll", 2, time.Minute, ""},
		{"never answers", 1 << 30, 30 * time.Millisecond, "cluster not answering after 30ms: list deployments: dial tcp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(deployment("todo-backend", 1, 1, 1, 1, 1))
			var polls atomic.Int32
			kube.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
				if polls.Add(1) <= tt.failures {
					return true, nil, refused
				}
				return false, nil, nil
			})
			status, err := Wait(context.Background(), kube, "apps", sel, WaitOptions{Timeout: tt.timeout, Interval: time.Millisecond})
			switch {
			case tt.wantErr == "" && (err != nil || len(status) != 1 || polls.Load() != 3):
				t.Fatalf("status %v, err %v after %d polls", status, err, polls.Load())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWaitExplainsWhatIsNotReady(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "todo-backend-7f9", Namespace: "apps", Labels: labelsOf()},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name:  "backend",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: `image "todo-backend:ci" is not present`}},
		}}},
	}
	crashing := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "todo-frontend-1a2", Namespace: "apps", Labels: labelsOf()},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "frontend", RestartCount: 4,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		}}},
	}
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "apps"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "todo-frontend-1a2"},
		Type:           corev1.EventTypeWarning, Reason: "Unhealthy", Message: "Readiness probe failed: HTTP probe failed with statuscode: 503",
	}
	kube := fake.NewClientset(deployment("todo-backend", 1, 0, 1, 1, 1), deployment("todo-frontend", 1, 0, 1, 1, 1), pod, crashing, event)
	_, err := Wait(context.Background(), kube, "apps", sel, WaitOptions{Timeout: 20 * time.Millisecond, Interval: time.Millisecond})
	if err == nil {
		t.Fatal("Wait succeeded with nothing ready")
	}
	for _, want := range []string{"rollout not finished", "Deployment/todo-backend 0/1 ready", "NOT READY",
		"ErrImageNeverPull", `"todo-backend:ci" is not present`, "CrashLoopBackOff", "Readiness probe failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("explanation lacks %q:\n%v", want, err)
		}
	}
}

// A pod no node takes: the explanation says what each node holds against
// it, and says nothing of a healthy node.
func TestExplainSaysWhyNoNodeTakesAPod(t *testing.T) {
	pending := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "todo-backend-7f9", Namespace: "apps", Labels: labelsOf()},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/3 nodes are available: 3 node(s) had untolerated taint(s).",
		}}},
	}
	scheduled := pending.DeepCopy()
	scheduled.Status.Conditions = nil
	healthyConditions := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
	}
	node := func(name string, unschedulable bool, taints []corev1.Taint, conditions ...corev1.NodeCondition) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Unschedulable: unschedulable, Taints: taints},
			Status: corev1.NodeStatus{Conditions: append(slices.Clone(healthyConditions), conditions...)}}
	}
	nodes := []runtime.Object{
		node("server", false, []corev1.Taint{{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule}},
			corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Message: "kubelet has disk pressure"}),
		node("agent-1", true, []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}),
		node("agent-2", false, []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute}},
			corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}),
		node("agent-3", false, nil),
	}
	for _, tt := range []struct {
		name         string
		pod          *corev1.Pod
		forbidNodes  bool
		want, unwant []string
	}{
		{name: "unschedulable", pod: pending,
			want: []string{
				"node server: taint node.kubernetes.io/disk-pressure:NoSchedule; DiskPressure=True (kubelet has disk pressure)",
				"node agent-1: cordoned; taint node.kubernetes.io/unschedulable:NoSchedule",
				"node agent-2: taint node.kubernetes.io/not-ready:NoExecute; Ready=Unknown (Kubelet stopped posting node status.)",
			},
			unwant: []string{"node agent-3", "MemoryPressure"}},
		{name: "nodes not readable", pod: pending, forbidNodes: true, want: []string{"nodes: cannot list them: ", "forbidden"}},
		{name: "scheduled", pod: scheduled, unwant: []string{"node "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(append([]runtime.Object{deployment("todo-backend", 1, 0, 1, 1, 1), tt.pod}, nodes...)...)
			if tt.forbidNodes {
				kube.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New(`nodes is forbidden: User "ci" cannot list resource "nodes"`)
				})
			}
			status, err := Rollout(context.Background(), kube, "apps", sel)
			if err != nil {
				t.Fatal(err)
			}
			got := Explain(context.Background(), kube, "apps", sel, status)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("explanation lacks %q:\n%s", w, got)
				}
			}
			for _, u := range tt.unwant {
				if strings.Contains(got, u) {
					t.Errorf("explanation has %q:\n%s", u, got)
				}
			}
		})
	}
}

func TestWaitWithNoWorkloadsTimesOut(t *testing.T) {
	_, err := Wait(context.Background(), fake.NewClientset(), "apps", sel, WaitOptions{Timeout: 5 * time.Millisecond, Interval: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no Deployment or StatefulSet matches") {
		t.Fatalf("err = %v", err)
	}
}

func TestStatefulSetRollout(t *testing.T) {
	one := int32(1)
	ss := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "pg", Generation: 1}, Spec: appsv1.StatefulSetSpec{Replicas: &one},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "r1", UpdateRevision: "r2"}}
	if statefulSetStatus(ss).Done() {
		t.Error("a StatefulSet mid-update counted as done")
	}
	ss.Status.CurrentRevision = "r2"
	if !statefulSetStatus(ss).Done() {
		t.Error("an updated, ready StatefulSet counted as not done")
	}
}

// A rollout as a real cluster reports it: the Deployment's status counts
// only the new pods as soon as the old one is signalled, while the old pod
// exists, terminating, for its whole drain.
func TestWaitLastsUntilNoOldPodIsLeft(t *testing.T) {
	d := deployment("todo-backend", 2, 2, 2, 2, 2)
	d.UID, d.Annotations = "dep", map[string]string{revisionAnnotation: "2"}
	replicaSet := func(uid, revision string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "todo-backend-" + uid, Namespace: "apps", UID: types.UID(uid), Labels: labelsOf(),
			Annotations:     map[string]string{revisionAnnotation: revision},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}}}
	}
	pod := func(name, rs string, terminating bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps", UID: types.UID(name), Labels: labelsOf(),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "todo-backend-" + rs, UID: types.UID(rs), Controller: ptr(true)}}}}
		if terminating {
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		return p
	}
	for _, tt := range []struct {
		name      string
		goneAfter int32         // polls until the old pod is deleted; 0: never
		timeout   time.Duration // a wait that ends returns at once; the bound matters only to one that cannot
		wantErr   string
	}{
		{"the old pod exits during the wait", 4, time.Minute, ""},
		{"the old pod never exits", 0, 50 * time.Millisecond, "Deployment/todo-backend 2/2 ready, 1 old pod(s) still there"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(d, replicaSet("old", "1"), replicaSet("new", "2"),
				pod("new-1", "new", false), pod("new-2", "new", false), pod("old-1", "old", true))
			var polls atomic.Int32
			kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if polls.Add(1) == tt.goneAfter {
					kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "apps", "old-1")
				}
				return false, nil, nil
			})
			status, err := Wait(context.Background(), kube, "apps", sel, WaitOptions{Timeout: tt.timeout, Interval: time.Millisecond})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if polls.Load() < tt.goneAfter || len(status) != 1 || status[0].OldPods != 0 {
				t.Fatalf("Wait returned %v after %d polls, before the old pod was gone (poll %d)", status, polls.Load(), tt.goneAfter)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestWaitNodes(t *testing.T) {
	node := func(name string, ready bool) *corev1.Node {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: "10.42.0.0/24"},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}}}
	}
	for _, tt := range []struct {
		name      string
		readyAt   int32 // the poll at which agent-1 turns Ready; 0: never
		timeout   time.Duration
		wantErr   string
		wantNodes int
	}{
		{"every node ready at once", 1, time.Minute, "", 2},
		{"an agent turns ready while waiting", 3, time.Minute, "", 2},
		{"an agent never does", 0, 50 * time.Millisecond, "1 of 2 nodes ready", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(node("server", true), node("agent-1", false))
			var polls atomic.Int32
			kube.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
				if polls.Add(1) == tt.readyAt {
					kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("nodes"), node("agent-1", true), "")
				}
				return false, nil, nil
			})
			nodes, err := WaitNodes(t.Context(), kube, 2, tt.timeout, time.Millisecond)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "agent-1") {
					t.Fatalf("err = %v, want one containing %q and naming agent-1", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(nodes) != tt.wantNodes {
				t.Fatalf("WaitNodes = %d nodes, %v", len(nodes), err)
			}
			table := NodeTable(nodes)
			if !strings.Contains(table, "agent-1") || strings.Count(table, "Ready") != 2 {
				t.Errorf("table:\n%s", table)
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	at := func(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	pod := func(name string, created, scheduled, started, ready int) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps", UID: types.UID(name), Labels: labelsOf(), CreationTimestamp: at(created)},
			Spec:   corev1.PodSpec{NodeName: "node-" + name},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: at(scheduled)}}}}
		if started >= 0 {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(started)}}}}
		}
		if ready >= 0 {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: at(ready)})
		}
		return p
	}
	kube := fake.NewClientset(pod("backend-1", 2, 2, 9, 14), pod("postgresql-0", 0, 1, 3, 10), pod("frontend-1", 2, 3, -1, -1), pod("old", -60, -60, -58, -50))
	got, err := Timeline(t.Context(), kube, "apps", sel, map[types.UID]bool{"old": true})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	want := [][]string{{"pod", "created", "scheduled", "started", "ready", "node"},
		{"postgresql-0", "+0s", "+1s", "+3s", "+10s", "node-postgresql-0"}, {"backend-1", "+2s", "+2s", "+9s", "+14s", "node-backend-1"},
		{"frontend-1", "+2s", "+3s", "-", "-", "node-frontend-1"}}
	if len(lines) != len(want) {
		t.Fatalf("timeline:\n%s", got)
	}
	for i, w := range want {
		if f := strings.Fields(lines[i]); !slices.Equal(f, w) {
			t.Errorf("line %d = %q, want %q", i, f, w)
		}
	}
}
