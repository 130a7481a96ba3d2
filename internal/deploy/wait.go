package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WorkloadStatus is the rollout state of one Deployment or StatefulSet.
type WorkloadStatus struct {
	Kind, Name       string
	Desired, Ready   int32
	Updated, Current bool
}

// Done reports whether the rollout finished: every replica updated and ready.
func (s WorkloadStatus) Done() bool { return s.Updated && s.Current && s.Ready >= s.Desired }

func (s WorkloadStatus) String() string {
	return fmt.Sprintf("%s/%s %d/%d ready", s.Kind, s.Name, s.Ready, s.Desired)
}

// Rollout lists the workloads of selector in namespace with their state.
func Rollout(ctx context.Context, kube kubernetes.Interface, namespace, selector string) ([]WorkloadStatus, error) {
	opts := metav1.ListOptions{LabelSelector: selector}
	deps, err := kube.AppsV1().Deployments(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	sets, err := kube.AppsV1().StatefulSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list statefulsets: %w", err)
	}
	var out []WorkloadStatus
	for _, d := range deps.Items {
		out = append(out, deploymentStatus(d))
	}
	for _, s := range sets.Items {
		out = append(out, statefulSetStatus(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out, nil
}

func deploymentStatus(d appsv1.Deployment) WorkloadStatus {
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	st := d.Status
	return WorkloadStatus{
		Kind: "Deployment", Name: d.Name, Desired: desired, Ready: st.AvailableReplicas,
		Current: st.ObservedGeneration >= d.Generation,
		// Old pods gone and every pod on the new template.
		Updated: st.UpdatedReplicas == desired && st.Replicas == desired,
	}
}

func statefulSetStatus(s appsv1.StatefulSet) WorkloadStatus {
	desired := int32(1)
	if s.Spec.Replicas != nil {
		desired = *s.Spec.Replicas
	}
	st := s.Status
	return WorkloadStatus{
		Kind: "StatefulSet", Name: s.Name, Desired: desired, Ready: st.ReadyReplicas,
		Current: st.ObservedGeneration >= s.Generation,
		Updated: st.UpdatedReplicas == desired && (st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision),
	}
}

// WaitOptions bound a wait.
type WaitOptions struct {
	Timeout  time.Duration
	Interval time.Duration // 2 s when zero
}

// Wait polls until every workload of selector has rolled out. A cluster that
// does not answer yet (a k3s just started) is asked again until the timeout.
// On timeout it returns an error that says what is not ready and why:
// container states of its pods and the namespace's recent warning events.
func Wait(ctx context.Context, kube kubernetes.Interface, namespace, selector string, o WaitOptions) ([]WorkloadStatus, error) {
	if o.Interval == 0 {
		o.Interval = 2 * time.Second
	}
	deadline := time.Now().Add(o.Timeout)
	for {
		status, err := Rollout(ctx, kube, namespace, selector)
		pending := 0
		for _, s := range status {
			if !s.Done() {
				pending++
			}
		}
		if err == nil && len(status) > 0 && pending == 0 {
			return status, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("cluster not answering after %s: %w", o.Timeout, err)
			}
			return status, fmt.Errorf("rollout not finished after %s:\n%s", o.Timeout, Explain(ctx, kube, namespace, selector, status))
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(o.Interval):
		}
	}
}

// Explain describes why workloads are not ready.
func Explain(ctx context.Context, kube kubernetes.Interface, namespace, selector string, status []WorkloadStatus) string {
	var b strings.Builder
	if len(status) == 0 {
		fmt.Fprintf(&b, "no Deployment or StatefulSet matches %q in namespace %s\n", selector, namespace)
	}
	for _, s := range status {
		mark := "ready"
		if !s.Done() {
			mark = "NOT READY"
		}
		fmt.Fprintf(&b, "  %-40s %s\n", s.String(), mark)
	}
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err == nil {
		for _, p := range pods.Items {
			for _, line := range podProblems(p) {
				fmt.Fprintf(&b, "  pod %s: %s\n", p.Name, line)
			}
		}
	}
	events, err := kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err == nil {
		items := events.Items
		sort.Slice(items, func(i, j int) bool { return items[i].LastTimestamp.Before(&items[j].LastTimestamp) })
		if len(items) > 10 {
			items = items[len(items)-10:]
		}
		for _, e := range items {
			fmt.Fprintf(&b, "  event %s/%s: %s: %s\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}

func podProblems(p corev1.Pod) []string {
	var out []string
	for _, c := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		switch {
		case c.State.Waiting != nil:
			out = append(out, fmt.Sprintf("container %s waiting: %s %s", c.Name, c.State.Waiting.Reason, c.State.Waiting.Message))
		case c.State.Terminated != nil && c.State.Terminated.ExitCode != 0:
			out = append(out, fmt.Sprintf("container %s exited %d: %s", c.Name, c.State.Terminated.ExitCode, c.State.Terminated.Reason))
		case !c.Ready:
			out = append(out, fmt.Sprintf("container %s running but not ready (restarts %d)", c.Name, c.RestartCount))
		}
	}
	if len(out) == 0 && p.Status.Phase == corev1.PodPending {
		for _, cond := range p.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				out = append(out, fmt.Sprintf("pending: %s", cond.Message))
			}
		}
	}
	return out
}
