package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// NodeReady reports whether a node's Ready condition is true.
func NodeReady(n corev1.Node) bool {
	return slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
}

// WaitNodes polls until at least count nodes are Ready, and returns the
// nodes. A cluster that does not answer yet is asked again until the
// timeout, which names the nodes not ready.
func WaitNodes(ctx context.Context, kube kubernetes.Interface, count int, timeout, interval time.Duration) ([]corev1.Node, error) {
	deadline := time.Now().Add(timeout)
	for {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			ready := 0
			for _, n := range nodes.Items {
				if NodeReady(n) {
					ready++
				}
			}
			if ready >= count {
				return nodes.Items, nil
			}
			err = fmt.Errorf("%d of %d nodes ready:\n%s", ready, count, NodeTable(nodes.Items))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// NodeTable lists nodes by name: readiness, whether they take new pods, and
// their pod range.
func NodeTable(nodes []corev1.Node) string {
	nodes = slices.Clone(nodes)
	slices.SortFunc(nodes, func(a, b corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %-9s %-13s %s\n", "node", "ready", "schedulable", "pod range")
	for _, n := range nodes {
		ready, schedulable := "NotReady", "yes"
		if NodeReady(n) {
			ready = "Ready"
		}
		if n.Spec.Unschedulable {
			schedulable = "cordoned"
		}
		fmt.Fprintf(&b, "%-32s %-9s %-13s %s\n", n.Name, ready, schedulable, n.Spec.PodCIDR)
	}
	return b.String()
}

// ControlPlaneLabel marks the nodes that run the control plane (k3s's
// servers, kubeadm's control-plane nodes).
const ControlPlaneLabel = "node-role.kubernetes.io/control-plane"

// PinToControlPlane moves each Deployment (namespace/name) onto the control
// plane's nodes, waiting up to timeout for it to exist (a cluster's add-ons
// come up after its nodes) and for its pods to run there, none left
// elsewhere. A test cluster does so with its one-replica add-ons (CoreDNS,
// the Ingress controller) so that each agent can be drained without taking
// them down. It returns where each one runs.
func PinToControlPlane(ctx context.Context, kube kubernetes.Interface, deployments []string, timeout, interval time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	patch := fmt.Appendf(nil, `{"spec":{"template":{"spec":{"nodeSelector":{%q:"true"}}}}}`, ControlPlaneLabel)
	var b strings.Builder
	for _, ref := range deployments {
		namespace, name, ok := strings.Cut(ref, "/")
		if !ok || namespace == "" || name == "" {
			return "", fmt.Errorf("%q: want namespace/name", ref)
		}
		var lastErr error
		for {
			var placed string
			placed, lastErr = pinOnce(ctx, kube, namespace, name, patch)
			if lastErr == nil {
				fmt.Fprintf(&b, "%s runs on %s\n", ref, placed)
				break
			}
			if time.Now().After(deadline) {
				return b.String(), fmt.Errorf("%s not on the control plane after %s: %w", ref, timeout, lastErr)
			}
			select {
			case <-ctx.Done():
				return b.String(), ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return b.String(), nil
}

// pinOnce patches the Deployment when it is not pinned yet, and says where
// its pods run once all of them are ready on the control plane.
func pinOnce(ctx context.Context, kube kubernetes.Interface, namespace, name string, patch []byte) (string, error) {
	d, err := kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if d.Spec.Template.Spec.NodeSelector[ControlPlaneLabel] != "true" {
		if _, err := kube.AppsV1().Deployments(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return "", fmt.Errorf("patch: %w", err)
		}
		return "", errors.New("patched, rolling out")
	}
	if !deploymentStatus(*d).Done() {
		return "", errors.New("rolling out")
	}
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", err
	}
	pods, err := kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return "", err
	}
	var on []string
	for _, p := range pods.Items {
		node, err := kube.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("pod %s: %w", p.Name, err)
		}
		if node.Labels[ControlPlaneLabel] != "true" {
			return "", fmt.Errorf("pod %s still on %s", p.Name, p.Spec.NodeName)
		}
		on = append(on, p.Spec.NodeName)
	}
	if len(on) == 0 {
		return "", errors.New("no pod yet")
	}
	return strings.Join(on, ", "), nil
}
