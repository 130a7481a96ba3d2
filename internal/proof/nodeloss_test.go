package proof

import (
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The node-loss proof asks for a worker to be stopped; a stand-in for the
// Dagger module answers the request as a lost machine would look to the
// API: the node NotReady, its endpoints unready, its pods replaced.
func TestNodeLoss(t *testing.T) {
	kube, _ := drainCluster(t)
	server, _ := kube.CoreV1().Nodes().Get(t.Context(), "server", metav1.GetOptions{})
	server.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "true"}
	kube.CoreV1().Nodes().Update(t.Context(), server, metav1.UpdateOptions{})
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
	agent1, _ := kube.CoreV1().Nodes().Get(t.Context(), "agent-1", metav1.GetOptions{})
	agent1.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "true"}
	kube.CoreV1().Nodes().Update(t.Context(), agent1, metav1.UpdateOptions{})
	r := NodeLoss(t.Context(), env(kube))
	if r.Err == nil || !strings.Contains(r.Figures, "no worker node to lose") {
		t.Fatalf("result = %v", r)
	}
}
