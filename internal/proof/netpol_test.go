//go:build localstack

package proof

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func labelled(component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "todo-todo-app-" + component, Namespace: "todo", Labels: map[string]string{
		"app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": component}}
}

func service(component string, port int32) *corev1.Service {
	return &corev1.Service{ObjectMeta: labelled(component), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port}}}}
}

// netpolCluster runs probe pods instantly: a connection to a port in open succeeds.
func netpolCluster(open ...string) *fake.Clientset {
	kube := fake.NewClientset(appPod("be-1", 1000, true, dbRef), secret(), &networkingv1.NetworkPolicy{ObjectMeta: labelled("postgresql")},
		service("postgresql", 5432), service("frontend", 3000))
	kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		cmd := p.Spec.Containers[0].Command
		p.Status.Phase = corev1.PodFailed
		if slices.Contains(open, cmd[len(cmd)-1]) {
			p.Status.Phase = corev1.PodSucceeded
		}
		return false, nil, nil // stored as changed
	})
	return kube
}

func TestNetworkPolicyBlocksOutsiders(t *testing.T) {
	kube := netpolCluster("3000")
	r := Security(t.Context(), env(kube))
	if r.Err != nil || !strings.Contains(r.Figures, "cannot reach PostgreSQL") {
		t.Fatalf("result = %v", r)
	}
	if pods, _ := kube.CoreV1().Pods("todo").List(t.Context(), metav1.ListOptions{}); len(pods.Items) != 1 {
		t.Fatalf("%d pods left; the probe pods must be deleted", len(pods.Items))
	}
}

func TestNetworkPolicyLeakIsCaught(t *testing.T) {
	r := Security(t.Context(), env(netpolCluster("3000", "5432")))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "reached PostgreSQL") {
		t.Fatalf("result = %v", r)
	}
}

func TestBrokenProbeProvesNothing(t *testing.T) {
	r := Security(t.Context(), env(netpolCluster()))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "cannot reach the frontend either") {
		t.Fatalf("result = %v", r)
	}
}
