// Package deploytest provides a Helm release store and fake cluster for tests
// of what drives Helm: releases install and upgrade in memory, their
// workloads are rolled out, and a release can be made to never become ready.
package deploytest

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy"
)

// Cluster accepts every object Helm applies. Kube holds the release's
// workloads, rolled out, as the Releaser's wait sees them, and the apps'
// pods: each apply rolls them, as a rolling update does.
type Cluster struct {
	kubefake.PrintingKubeClient
	Kube      *fake.Clientset
	namespace string
	// BreakNext makes the next apply start a pod that never runs (its image
	// is never pulled), as an upgrade to a missing image does; the apply
	// after it (Helm's rollback) replaces it.
	BreakNext atomic.Bool
	rollouts  atomic.Int32
}

// Drain is how long an old pod of a rollout terminates before it is gone.
const Drain = 300 * time.Millisecond

// Release is the release name the workloads belong to.
const Release = "todo"

// BrokenPod is the name of the pod BreakNext starts.
const BrokenPod = "todo-todo-app-backend-broken"

// Create applies new objects.
func (c *Cluster) Create(r kube.ResourceList) (*kube.Result, error) {
	c.apply()
	return c.PrintingKubeClient.Create(r)
}

// Update applies changed objects.
func (c *Cluster) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	c.apply()
	return c.PrintingKubeClient.Update(original, target, force)
}

func (c *Cluster) apply() {
	ctx := context.Background()
	_ = c.Kube.CoreV1().Pods(c.namespace).Delete(ctx, BrokenPod, metav1.DeleteOptions{})
	backend := RolledOut(c.namespace, "todo-todo-app-backend")
	broken := c.BreakNext.CompareAndSwap(true, false)
	if broken {
		// The surge pod never becomes available; the old one keeps serving.
		backend.Status = appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1}
	}
	_, _ = c.Kube.AppsV1().Deployments(c.namespace).Update(ctx, backend, metav1.UpdateOptions{})
	if !broken {
		c.roll(ctx)
		return
	}
	_, _ = c.Kube.CoreV1().Pods(c.namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: BrokenPod, Namespace: c.namespace, UID: types.UID(BrokenPod),
			Labels: map[string]string{"app.kubernetes.io/instance": Release}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "backend",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull",
				Message: `Container image "todo-backend:does-not-exist" is not present with pull policy of Never`}}}}},
	}, metav1.CreateOptions{})
}

// roll replaces the apps' pods: a new ready one for each app at once, the
// old ones terminating for Drain, then gone.
func (c *Cluster) roll(ctx context.Context) {
	revision := c.rollouts.Add(1)
	pods, _ := c.Kube.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{})
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Name == BrokenPod {
			continue
		}
		now := metav1.Now()
		p.DeletionTimestamp = &now
		_, _ = c.Kube.CoreV1().Pods(c.namespace).Update(ctx, &p, metav1.UpdateOptions{})
		go func() {
			time.Sleep(Drain)
			_ = c.Kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), c.namespace, p.Name)
		}()
	}
	for _, app := range []string{"backend", "frontend"} {
		name := fmt.Sprintf("todo-todo-app-%s-%d", app, revision)
		_, _ = c.Kube.CoreV1().Pods(c.namespace).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.namespace, UID: types.UID(name),
				Labels: map[string]string{"app.kubernetes.io/instance": Release, "app.kubernetes.io/component": app},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("todo-todo-app-%s-rs%d", app, revision),
					UID: types.UID(fmt.Sprintf("rs-%s-%d", app, revision)), Controller: ptr(true)}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}, metav1.CreateOptions{})
	}
}

func ptr[T any](v T) *T { return &v }

// RolledOut is a Deployment of the release with every replica updated and available.
func RolledOut(namespace, name string) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/instance": Release}},
		Spec:       appsv1.DeploymentSpec{Replicas: &one},
		Status:     appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1},
	}
}

// NewReleaser returns a Releaser over an in-memory release store and a
// Cluster whose release has both apps rolled out in namespace.
func NewReleaser(namespace string, timeout time.Duration) (*deploy.Releaser, *Cluster) {
	cluster := &Cluster{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}, namespace: namespace,
		Kube: fake.NewClientset(RolledOut(namespace, "todo-todo-app-backend"), RolledOut(namespace, "todo-todo-app-frontend"))}
	caps := *chartutil.DefaultCapabilities
	kv, _ := chartutil.ParseKubeVersion(chart.DefaultKubeVersion)
	caps.KubeVersion = *kv // the default claims v1.20, below the chart's kubeVersion
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   cluster,
		Capabilities: &caps,
		Log:          func(string, ...any) {},
	}
	return deploy.NewReleaser(cfg, cluster.Kube, namespace, timeout), cluster
}
