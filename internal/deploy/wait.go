package deploy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// WorkloadStatus is the rollout state of one Deployment or StatefulSet.
type WorkloadStatus struct {
	Kind, Name       string
	Desired, Ready   int32
	Updated, Current bool
	// OldPods are the pods of earlier templates that still exist, terminating
	// ones included: a Deployment's status stops counting a pod as soon as it
	// is signalled, while it may serve for its whole drain.
	OldPods int
}

// Done reports whether the rollout finished: every replica updated and
// ready, and no pod of an earlier template left.
func (s WorkloadStatus) Done() bool {
	return s.Updated && s.Current && s.Ready >= s.Desired && s.OldPods == 0
}

func (s WorkloadStatus) String() string {
	out := fmt.Sprintf("%s/%s %d/%d ready", s.Kind, s.Name, s.Ready, s.Desired)
	if s.OldPods > 0 {
		out += fmt.Sprintf(", %d old pod(s) still there", s.OldPods)
	}
	return out
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
	if len(deps.Items) > 0 {
		old, err := oldPods(ctx, kube, namespace, opts, deps.Items)
		if err != nil {
			return nil, err
		}
		for _, d := range deps.Items {
			st := deploymentStatus(d)
			st.OldPods = old[d.UID]
			out = append(out, st)
		}
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
		// Every pod counted on the new template; the old ones that still
		// exist are counted apart (OldPods).
		Updated: st.UpdatedReplicas == desired && st.Replicas == desired,
	}
}

// oldPods counts, by Deployment UID, the pods of opts that belong to a
// ReplicaSet other than their Deployment's current one (whose revision
// annotation is the Deployment's), whether or not they are terminating.
func oldPods(ctx context.Context, kube kubernetes.Interface, namespace string, opts metav1.ListOptions, deps []appsv1.Deployment) (map[types.UID]int, error) {
	sets, err := kube.AppsV1().ReplicaSets(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list replicasets: %w", err)
	}
	revision := map[types.UID]string{}
	for _, d := range deps {
		revision[d.UID] = d.Annotations[revisionAnnotation]
	}
	// The ReplicaSets of an earlier template, each with its Deployment.
	old := map[types.UID]types.UID{}
	for _, rs := range sets.Items {
		owner := metav1.GetControllerOf(&rs)
		if owner == nil || owner.Kind != "Deployment" {
			continue
		}
		if want, ok := revision[owner.UID]; ok && rs.Annotations[revisionAnnotation] != want {
			old[rs.UID] = owner.UID
		}
	}
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	count := map[types.UID]int{}
	for _, p := range pods.Items {
		if owner := metav1.GetControllerOf(&p); owner != nil {
			if dep, ok := old[owner.UID]; ok {
				count[dep]++
			}
		}
	}
	return count, nil
}

// revisionAnnotation is the Deployment controller's: a Deployment's current
// revision, and the revision of each of its ReplicaSets.
const revisionAnnotation = "deployment.kubernetes.io/revision"

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
	// FailFast ends the wait as soon as a pod not among Existing is in a
	// state that waiting does not cure (see Hopeless).
	FailFast bool
	Existing map[types.UID]bool
}

// Wait polls until every workload of selector has rolled out: updated,
// ready, and no pod of an earlier template left, not even a terminating one
// (it may serve until its drain ends). A cluster that does not answer yet (a
// k3s just started) is asked again until the timeout. On timeout it returns
// an error that says what is not ready and why: container states of its pods
// and the namespace's recent warning events.
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
		if err == nil && o.FailFast {
			if found, herr := Hopeless(ctx, kube, namespace, selector, o.Existing); herr == nil && len(found) > 0 {
				return status, fmt.Errorf("rollout cannot finish: %s:\n%s", strings.Join(found, "; "), Explain(ctx, kube, namespace, selector, status))
			}
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
		unschedulable := false
		for _, p := range pods.Items {
			for _, line := range podProblems(p) {
				fmt.Fprintf(&b, "  pod %s: %s\n", p.Name, line)
			}
			unschedulable = unschedulable || podUnschedulable(p)
		}
		if unschedulable {
			b.WriteString(explainNodes(ctx, kube))
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

func podUnschedulable(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// explainNodes says, for a pod the scheduler cannot place, what each node
// holds against it: its taints (the kubelet's and the node controller's,
// such as disk-pressure or not-ready, say what is wrong with the node), a
// cordon, and the conditions that are not as a healthy node reports them.
// A caller that may not read nodes is told so.
func explainNodes(ctx context.Context, kube kubernetes.Interface) string {
	nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Sprintf("  nodes: cannot list them: %v\n", err)
	}
	var b strings.Builder
	for _, n := range nodes.Items {
		var problems []string
		if n.Spec.Unschedulable {
			problems = append(problems, "cordoned")
		}
		for _, t := range n.Spec.Taints {
			problems = append(problems, "taint "+t.ToString())
		}
		for _, c := range n.Status.Conditions {
			healthy := corev1.ConditionFalse
			if c.Type == corev1.NodeReady {
				healthy = corev1.ConditionTrue
			}
			if c.Status != healthy {
				problems = append(problems, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Message))
			}
		}
		if len(problems) > 0 {
			fmt.Fprintf(&b, "  node %s: %s\n", n.Name, strings.Join(problems, "; "))
		}
	}
	return b.String()
}

// hopelessReasons are the waiting states that waiting does not cure: the
// image cannot be pulled (or must not be), the container's configuration
// names what does not exist, or it keeps crashing.
var hopelessReasons = []string{"ErrImageNeverPull", "InvalidImageName", "ImagePullBackOff",
	"CreateContainerConfigError", "CrashLoopBackOff"}

// Hopeless describes the pods of selector, other than those of known, whose
// containers are in a state that waiting does not cure; none when all may
// still become ready.
func Hopeless(ctx context.Context, kube kubernetes.Interface, namespace, selector string, known map[types.UID]bool) ([]string, error) {
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []string
	for _, p := range pods.Items {
		if known[p.UID] || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := c.State.Waiting; w != nil && slices.Contains(hopelessReasons, w.Reason) {
				out = append(out, strings.TrimSpace(fmt.Sprintf("pod %s: container %s %s %s", p.Name, c.Name, w.Reason, w.Message)))
			}
		}
	}
	return out, nil
}

// PodUIDs are the UIDs of the pods of selector now.
func PodUIDs(ctx context.Context, kube kubernetes.Interface, namespace, selector string) (map[types.UID]bool, error) {
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	uids := make(map[types.UID]bool, len(pods.Items))
	for _, p := range pods.Items {
		uids[p.UID] = true
	}
	return uids, nil
}

// Timeline says, for each pod of selector not among existing, the node it
// runs on and when it was created, scheduled, started and ready, in seconds
// from the first one's creation: where an install or upgrade spent its
// time. The times are the cluster's own, to the second.
func Timeline(ctx context.Context, kube kubernetes.Interface, namespace, selector string, existing map[types.UID]bool) (string, error) {
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	var fresh []corev1.Pod
	for _, p := range pods.Items {
		if !existing[p.UID] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return "", nil
	}
	sort.Slice(fresh, func(i, j int) bool {
		a, b := fresh[i].CreationTimestamp, fresh[j].CreationTimestamp
		return a.Before(&b) || a.Equal(&b) && fresh[i].Name < fresh[j].Name
	})
	zero := fresh[0].CreationTimestamp.Time
	at := func(t metav1.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("+%ds", int(t.Sub(zero).Seconds()))
	}
	condition := func(p corev1.Pod, kind corev1.PodConditionType) metav1.Time {
		for _, c := range p.Status.Conditions {
			if c.Type == kind && c.Status == corev1.ConditionTrue {
				return c.LastTransitionTime
			}
		}
		return metav1.Time{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-48s %8s %10s %8s %6s  %s\n", "pod", "created", "scheduled", "started", "ready", "node")
	for _, p := range fresh {
		var started metav1.Time
		for _, c := range p.Status.ContainerStatuses {
			if r := c.State.Running; r != nil && (started.IsZero() || r.StartedAt.After(started.Time)) {
				started = r.StartedAt
			}
		}
		fmt.Fprintf(&b, "%-48s %8s %10s %8s %6s  %s\n", p.Name, at(p.CreationTimestamp), at(condition(p, corev1.PodScheduled)), at(started), at(condition(p, corev1.PodReady)), cmp.Or(p.Spec.NodeName, "-"))
	}
	return b.String(), nil
}
