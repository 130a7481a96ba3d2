//go:build localstack

package proof

import (
	"strings"
	"sync/atomic"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// A scripted HPA: 2 replicas, then 3 and 4 under load, then 2 again.
func TestAutoscaling(t *testing.T) {
	two, thirty := int32(2), int32(30)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "todo-todo-app-backend", Namespace: "todo", Labels: map[string]string{
			"app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": "backend"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &two, MaxReplicas: 4, Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &thirty}}},
	}
	kube := fake.NewClientset(hpa)
	var gets atomic.Int32
	kube.PrependReactor("get", "horizontalpodautoscalers", func(k8stesting.Action) (bool, runtime.Object, error) {
		n := gets.Add(1)
		h := hpa.DeepCopy()
		switch {
		case n <= 3:
			h.Status.CurrentReplicas = 2
		case n <= 5:
			h.Status.CurrentReplicas = 3
		case n <= 25:
			h.Status.CurrentReplicas = 4
		default:
			h.Status.CurrentReplicas = 2
		}
		return true, h, nil
	})
	r := Autoscaling(t.Context(), env(kube))
	t.Log(r)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, want := range []string{"scaled up from 2 after", "peak 4 replicas", "back to 2", "scale-down window 30 s"} {
		if !strings.Contains(r.Figures, want) {
			t.Errorf("figures %q lack %q", r.Figures, want)
		}
	}
}

func TestAutoscalingNeedsAnHPA(t *testing.T) {
	r := Autoscaling(t.Context(), env(fake.NewClientset()))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no backend HPA") {
		t.Fatalf("result = %v", r)
	}
}
