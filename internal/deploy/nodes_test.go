package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A fake controller: once a Deployment's template asks for the control
// plane, its pod is replaced by one on the server and its status caught up.
func rollOntoControlPlane(ctx context.Context, t *testing.T, kube *fake.Clientset, name string) {
	for ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
		d, err := kube.AppsV1().Deployments("kube-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil || d.Spec.Template.Spec.NodeSelector[ControlPlaneLabel] != "true" || d.Status.ObservedGeneration == 2 {
			continue
		}
		if err := kube.CoreV1().Pods("kube-system").Delete(ctx, name+"-old", metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
		pod := addonPod(name+"-new", "server")
		if _, err := kube.CoreV1().Pods("kube-system").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		d.Generation, d.Status = 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		if _, err := kube.AppsV1().Deployments("kube-system").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
		return
	}
}

func addonPod(name, node string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "addon"}},
		Spec: corev1.PodSpec{NodeName: node}}
}

func addon(name string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Generation: 1},
		Spec:   appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "addon"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}}
}

func TestPinToControlPlane(t *testing.T) {
	nodes := []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "server", Labels: map[string]string{ControlPlaneLabel: "true"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "agent-1"}},
	}
	for _, tt := range []struct {
		name     string
		ref      string
		lateBy   time.Duration // the add-on appears after the call starts; -1: never
		want     string
		wantErrs []string
	}{
		{name: "moves it", ref: "kube-system/coredns", want: "kube-system/coredns runs on server"},
		{name: "waits for it to appear", ref: "kube-system/coredns", lateBy: 50 * time.Millisecond, want: "kube-system/coredns runs on server"},
		{name: "never there", ref: "kube-system/coredns", lateBy: -1, wantErrs: []string{"kube-system/coredns not on the control plane after", "not found"}},
		{name: "not a reference", ref: "coredns", wantErrs: []string{`"coredns": want namespace/name`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset(nodes[0], nodes[1], addonPod("coredns-old", "agent-1"))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() {
				if tt.lateBy < 0 {
					return
				}
				time.Sleep(tt.lateBy)
				if _, err := kube.AppsV1().Deployments("kube-system").Create(ctx, addon("coredns"), metav1.CreateOptions{}); err != nil {
					t.Error(err)
				}
				rollOntoControlPlane(ctx, t, kube, "coredns")
			}()
			got, err := PinToControlPlane(ctx, kube, []string{tt.ref}, 300*time.Millisecond, time.Millisecond)
			if len(tt.wantErrs) == 0 {
				if err != nil || strings.TrimSpace(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			for _, w := range tt.wantErrs {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want one containing %q", err, w)
				}
			}
		})
	}
}
