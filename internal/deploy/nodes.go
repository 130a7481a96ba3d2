package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
