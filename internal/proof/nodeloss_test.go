//go:build localstack

package proof

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The node-loss proof asks for a worker to be stopped; a stand-in for the
// Dagger module answers the request as a lost machine would look to the
// API: the node NotReady, its endpoints unready, its pods replaced.
func TestNodeLoss(t *testing.T) {
	kube, _ := drainCluster(t)
	controlPlane(t, kube, "server")
	agent1 := "agent-1"
	kube.DiscoveryV1().EndpointSlices("todo").Create(t.Context(), &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "backend-x", Namespace: "todo"},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.42.2.5"}, NodeName: &agent1, Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)}}}}, metav1.CreateOptions{})
	e := env(kube)
	stopped := make(chan string, 1)
	go func() {
		node, err := AwaitNodeLossRequest(t.Context(), e, time.Minute)
		if err != nil {
			t.Error(err)
		}
		n, _ := kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
		kube.CoreV1().Nodes().UpdateStatus(t.Context(), n, metav1.UpdateOptions{})
		slice, _ := kube.DiscoveryV1().EndpointSlices("todo").Get(t.Context(), "backend-x", metav1.GetOptions{})
		slice.Endpoints[0].Conditions.Ready = ptrTo(false)
		kube.DiscoveryV1().EndpointSlices("todo").Update(t.Context(), slice, metav1.UpdateOptions{})
		for _, name := range []string{"be-1", "fe-1"} { // the taint manager's eviction, once the toleration ran out
			kube.CoreV1().Pods("todo").Delete(t.Context(), name, metav1.DeleteOptions{})
		}
		stopped <- node
	}()
	r := NodeLoss(t.Context(), e)
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if node := <-stopped; node != "agent-1" {
		t.Fatalf("asked to stop %s, want agent-1 (the worker without the database)", node)
	}
	if !regexp.MustCompile(`^lost agent-1 \(stop asked at \+\S+\): NotReady at \+\S+, out of the endpoints at \+\S+, the apps whole elsewhere at \+\S+; failed 0 of`).MatchString(r.Figures) {
		t.Fatalf("figures = %s", r.Figures)
	}
	if _, err := kube.CoreV1().Nodes().Get(t.Context(), "agent-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the lost node was not deleted: %v", err)
	}
	if _, err := kube.CoreV1().ConfigMaps("todo").Get(t.Context(), NodeLossRequest("todo"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the request was left behind: %v", err)
	}
}

// A control-plane node is never the one lost: the cluster would go with it.
func TestNodeLossSparesTheControlPlane(t *testing.T) {
	kube, _ := drainCluster(t)
	controlPlane(t, kube, "agent-1")
	r := NodeLoss(t.Context(), env(kube))
	if r.Err == nil || !strings.Contains(r.Figures, "no worker node to lose") {
		t.Fatalf("result = %v", r)
	}
}

// When every worker holds a one-replica part of the serving path, the one
// whose parts can move (k3s's Traefik, not the database on its volume) is
// cleared first, cordoned meanwhile, and then lost.
func TestNodeLossMovesMovableOneReplicaPodsFirst(t *testing.T) {
	kube, _ := drainCluster(t)
	controlPlane(t, kube, "server")
	// PostgreSQL, on its volume, beside the apps on agent-1; Traefik beside them on agent-2.
	kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), "todo", "pg-0")
	pg := on("agent-1", readyPod("pg-0", "postgresql"))
	pg.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-pg-0"}}}}
	kube.Tracker().Add(pg)
	moveTo(t, kube, "kube-system", "traefik-x", "agent-2")
	rs, _ := kube.AppsV1().ReplicaSets("kube-system").Get(t.Context(), "traefik", metav1.GetOptions{})
	rs.Status.ReadyReplicas = 1 // its replacement, as the controller reports it
	kube.AppsV1().ReplicaSets("kube-system").UpdateStatus(t.Context(), rs, metav1.UpdateOptions{})

	node, move, err := lossTarget(t.Context(), env(kube), map[string]bool{"server": true})
	if err != nil || node != "agent-2" || len(move) != 1 || move[0].Name != "traefik-x" {
		t.Fatalf("lossTarget = %s, %d pods to move, %v; want agent-2 after moving traefik-x", node, len(move), err)
	}
	if _, err := relocate(t.Context(), env(kube), []string{node}, move); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Pods("kube-system").Get(t.Context(), "traefik-x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("traefik-x was not evicted: %v", err)
	}
	if n, _ := kube.CoreV1().Nodes().Get(t.Context(), "agent-2", metav1.GetOptions{}); n.Spec.Unschedulable {
		t.Error("agent-2 left cordoned")
	}

	// With the database beside Traefik, nothing can be cleared: it says where everything is.
	moveTo(t, kube, "todo", "pg-0", "agent-2")
	pg1 := on("agent-1", readyPod("pg-1", "postgresql"))
	pg1.Spec.Volumes = pg.Spec.Volumes
	kube.Tracker().Add(pg1)
	if _, _, err := lossTarget(t.Context(), env(kube), map[string]bool{"server": true}); err == nil || !strings.Contains(err.Error(), "todo/pg-") {
		t.Fatalf("lossTarget with a volume on every worker: %v", err)
	}
}

// The node to lose gets a replica of an app it lacks, moved there with the
// other nodes cordoned meanwhile, and uncordoned after.
func TestNodeLossPlacesEachAppOnTheNode(t *testing.T) {
	kube, _ := drainCluster(t)
	moveTo(t, kube, "todo", "be-1", "server")
	rs, _ := kube.AppsV1().ReplicaSets("todo").Get(t.Context(), "todo-backend", metav1.GetOptions{})
	rs.Status.ReadyReplicas = 2 // with the replacement, as the controller reports it
	kube.AppsV1().ReplicaSets("todo").UpdateStatus(t.Context(), rs, metav1.UpdateOptions{})
	var cordoned []string
	kube.PrependReactor("patch", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if strings.Contains(string(a.(k8stesting.PatchAction).GetPatch()), `"unschedulable":true`) {
			cordoned = append(cordoned, a.(k8stesting.PatchAction).GetName())
		}
		return false, nil, nil
	})
	done, err := prepareLoss(t.Context(), env(kube), "agent-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || !regexp.MustCompile(`^first moved be-(1 from server|2 from agent-2) to agent-1 in \S+$`).MatchString(done[0]) {
		t.Fatalf("prepared %q", done)
	}
	slices.Sort(cordoned)
	if !slices.Equal(cordoned, []string{"agent-2", "server"}) {
		t.Errorf("cordoned %v while moving, want the others", cordoned)
	}
	nodes, _ := kube.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable {
			t.Errorf("%s left cordoned", n.Name)
		}
	}
}

// controlPlane labels node as a control-plane node.
func controlPlane(t *testing.T, kube *fake.Clientset, node string) {
	n, err := kube.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "true"}
	if _, err := kube.CoreV1().Nodes().Update(t.Context(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// moveTo places an existing pod on node, as if it had been scheduled there.
func moveTo(t *testing.T, kube *fake.Clientset, namespace, pod, node string) {
	p, err := kube.CoreV1().Pods(namespace).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.NodeName = node
	if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"), p, namespace); err != nil {
		t.Fatal(err)
	}
}
