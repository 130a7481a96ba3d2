package proof

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// NodeDrain drains a node as `kubectl drain --ignore-daemonsets
// --delete-emptydir-data` does, under users' traffic: it cordons the node,
// evicts every pod on it through the Eviction API (retrying while a
// PodDisruptionBudget refuses, as kubectl does), and the traffic runs until
// the evicted pods are deleted and the apps' replacements ready; then it
// uncordons the node. The node is the one with the most replicas of the
// apps among those holding no one-replica part of the serving path (the
// in-cluster database; k3s's Traefik and CoreDNS): draining one of those
// takes down what no chart of the app can keep up. Goal: 0 failed of each
// kind, 0 writes lost.
func NodeDrain(ctx context.Context, env Env) Result {
	before, err := placement(ctx, env)
	if err != nil {
		return Result{Figures: "no placement", Err: err}
	}
	node, err := drainTarget(ctx, env, nil)
	if err != nil {
		return Result{Figures: "no node to drain", Err: err, Lines: []string{"before: " + before}}
	}
	var d *drain
	traffic, err := underTraffic(ctx, env, func(t *userTraffic) error {
		var err error
		if d, err = startDrain(ctx, env, node, t.started); err != nil {
			return err
		}
		err = d.finish(ctx, env)
		time.Sleep(time.Second) // and a moment after
		return err
	})
	if uerr := cordon(context.WithoutCancel(ctx), env, node, false); uerr != nil {
		err = errors.Join(err, uerr)
	}
	after, perr := placement(ctx, env)
	if perr != nil {
		after = perr.Error()
	}
	figures := "drained " + node
	if d != nil {
		figures = d.String(traffic.ran)
	}
	r := judge(figures, traffic, err, "during the drain")
	r.Lines = append(r.Lines, "before: "+before, "after:  "+after)
	return r
}

// drain is one node's drain: the pods evicted from it, and when (from the
// traffic's start) the evictions went through, the evicted pods were gone
// and the apps were whole again.
type drain struct {
	node                                 string
	started                              time.Time // the traffic's start
	evicted                              []corev1.Pod
	appPods                              int            // of the evicted, the apps' own
	apps                                 map[string]int // ready replicas of each app before the drain
	refusals                             int            // evictions a PodDisruptionBudget refused for a while
	first, evictedAt, goneAt, replacedAt time.Duration
}

// startDrain cordons node and evicts its pods, returning once every
// eviction went through.
func startDrain(ctx context.Context, env Env, node string, started time.Time) (*drain, error) {
	d := &drain{node: node, started: started, apps: map[string]int{}}
	for _, component := range appComponents {
		pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
		if err != nil {
			return d, fmt.Errorf("list pods: %w", err)
		}
		for _, p := range pods.Items {
			if ready(p) {
				d.apps[component]++
			}
		}
	}
	if err := cordon(ctx, env, node, true); err != nil {
		return d, err
	}
	pods, err := env.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return d, fmt.Errorf("list the pods on %s: %w", node, err)
	}
	for _, p := range pods.Items {
		if evictable(p) {
			d.evicted = append(d.evicted, p)
			if isApp(env, p) {
				d.appPods++
			}
		}
	}
	d.first = time.Since(started)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range d.evicted {
		wg.Go(func() {
			refused, err := evict(ctx, env, p)
			mu.Lock()
			defer mu.Unlock()
			d.refusals += refused
			errs = append(errs, err)
		})
	}
	wg.Wait()
	d.evictedAt = time.Since(started)
	return d, errors.Join(errs...)
}

// evictable says whether kubectl drain --ignore-daemonsets evicts p: not a
// DaemonSet's pod, nor a static pod's mirror, nor one already going.
func evictable(p corev1.Pod) bool {
	if owner := metav1.GetControllerOf(&p); owner != nil && owner.Kind == "DaemonSet" {
		return false
	}
	_, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]
	return !mirror && p.DeletionTimestamp == nil
}

// evict asks the API to evict p until it agrees, and returns how many times
// a PodDisruptionBudget refused (429 Too Many Requests) before.
func evict(ctx context.Context, env Env, p corev1.Pod) (refused int, err error) {
	eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(p.UID))}}
	err = poll(ctx, env, func() (bool, error) {
		err := env.Kube.CoreV1().Pods(p.Namespace).EvictV1(ctx, eviction)
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return true, nil
		case apierrors.IsTooManyRequests(err):
			refused++
			return false, fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
		default:
			return true, fmt.Errorf("evict %s/%s: %w", p.Namespace, p.Name, err)
		}
	})
	return refused, err
}

// finish waits until every evicted pod is deleted and each app has as many
// ready replicas as before, none of them evicted.
func (d *drain) finish(ctx context.Context, env Env) error {
	evicted := map[types.UID]bool{}
	for _, p := range d.evicted {
		evicted[p.UID] = true
	}
	return poll(ctx, env, func() (bool, error) {
		var waiting []string
		left := 0
		for _, p := range d.evicted {
			got, err := env.Kube.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err) || err == nil && got.UID != p.UID:
			case err != nil:
				return false, err
			default:
				left++
			}
		}
		if left > 0 {
			waiting = append(waiting, fmt.Sprintf("%d evicted pods not gone", left))
		} else if d.goneAt == 0 {
			d.goneAt = time.Since(d.started)
		}
		for _, component := range slices.Sorted(maps.Keys(d.apps)) {
			pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
			if err != nil {
				return false, err
			}
			n := 0
			for _, p := range pods.Items {
				if ready(p) && !evicted[p.UID] {
					n++
				}
			}
			if n < d.apps[component] {
				waiting = append(waiting, fmt.Sprintf("%s: %d of %d ready", component, n, d.apps[component]))
			}
		}
		if len(waiting) == 0 && d.replacedAt == 0 {
			d.replacedAt = time.Since(d.started)
		}
		return len(waiting) == 0 && left == 0, errors.New(strings.Join(waiting, "; "))
	})
}

// String is the drain's figures; ran is how long the traffic ran.
func (d *drain) String(ran time.Duration) string {
	s := fmt.Sprintf("drained %s: evicted %d pods (%d of the apps), %d refusals by a PodDisruptionBudget; window: first eviction at +%s, all through at +%s",
		d.node, len(d.evicted), d.appPods, d.refusals, round(d.first), round(d.evictedAt))
	if d.goneAt > 0 {
		s += fmt.Sprintf(", last evicted pod deleted at +%s", round(d.goneAt))
	}
	if d.replacedAt > 0 {
		s += fmt.Sprintf(", replacements ready at +%s", round(d.replacedAt))
	}
	if end := max(d.goneAt, d.replacedAt); end > 0 {
		s += fmt.Sprintf(", load ran %s past it", round(ran-end))
	}
	return s
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// appComponents are the release's Deployments: what users' traffic reaches.
var appComponents = []string{"backend", "frontend"}

// isApp says whether p is a pod of one of the release's apps.
func isApp(env Env, p corev1.Pod) bool {
	return p.Namespace == env.Namespace && p.Labels["app.kubernetes.io/instance"] == env.Release &&
		slices.Contains(appComponents, p.Labels["app.kubernetes.io/component"])
}

// cordon marks node unschedulable, or schedulable again.
func cordon(ctx context.Context, env Env, node string, unschedulable bool) error {
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, unschedulable)
	if _, err := env.Kube.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon %s (unschedulable %t): %w", node, unschedulable, err)
	}
	return nil
}

// drainTarget is the node with the most ready replicas of the apps among
// those that hold no one-replica part of the serving path (and are not
// excluded), or an error that says where everything runs.
func drainTarget(ctx context.Context, env Env, excluded map[string]bool) (string, error) {
	h, err := servingHoldings(ctx, env)
	if err != nil {
		return "", err
	}
	best := ""
	for _, node := range slices.Sorted(maps.Keys(h.apps)) {
		if len(h.single[node]) == 0 && !excluded[node] && (best == "" || h.apps[node] > h.apps[best]) {
			best = node
		}
	}
	if best == "" {
		return "", fmt.Errorf("every node with replicas of the apps holds a one-replica part of the serving path, or may not be taken (%s)", h)
	}
	return best, nil
}

// holdings are what each node holds of the serving path: ready replicas of
// the apps, and the pods of one-replica workloads on the path.
type holdings struct {
	apps   map[string]int
	single map[string][]corev1.Pod
}

func servingHoldings(ctx context.Context, env Env) (holdings, error) {
	h := holdings{apps: map[string]int{}, single: map[string][]corev1.Pod{}}
	pods, err := env.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return h, fmt.Errorf("list pods: %w", err)
	}
	path, err := servingPath(ctx, env)
	if err != nil {
		return h, err
	}
	replicas := map[types.UID]int32{} // of each pod's controller, looked up once
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.DeletionTimestamp != nil {
			continue
		}
		if isApp(env, p) && ready(p) {
			h.apps[p.Spec.NodeName]++
		}
		if !path(p) {
			continue
		}
		n, err := controllerReplicas(ctx, env, p, replicas)
		if err != nil {
			return h, err
		}
		if n == 1 {
			h.single[p.Spec.NodeName] = append(h.single[p.Spec.NodeName], p)
		}
	}
	return h, nil
}

// String says, per node with replicas of the apps, how many and which
// one-replica pods of the path sit beside them.
func (h holdings) String() string {
	var where []string
	for _, node := range slices.Sorted(maps.Keys(h.apps)) {
		where = append(where, fmt.Sprintf("%s: %d app replicas and %s", node, h.apps[node], podNames(h.single[node])))
	}
	return strings.Join(where, "; ")
}

func podNames(pods []corev1.Pod) string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Namespace + "/" + p.Name
	}
	return strings.Join(names, ", ")
}

// servingPath says whether a pod is on the path of users' requests besides
// the apps: the release's database, the pods behind a LoadBalancer Service
// (the ingress controller's entry) and behind the cluster's DNS Service.
func servingPath(ctx context.Context, env Env) (func(corev1.Pod) bool, error) {
	services, err := env.Kube.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	type selector struct {
		namespace string
		labels    labels.Selector
	}
	selectors := []selector{{env.Namespace, labels.SelectorFromSet(labels.Set{
		"app.kubernetes.io/instance": env.Release, "app.kubernetes.io/component": "postgresql"})}}
	for _, svc := range services.Items {
		dns := svc.Namespace == metav1.NamespaceSystem && svc.Name == "kube-dns"
		if (dns || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) && len(svc.Spec.Selector) > 0 {
			selectors = append(selectors, selector{svc.Namespace, labels.SelectorFromSet(svc.Spec.Selector)})
		}
	}
	return func(p corev1.Pod) bool {
		return slices.ContainsFunc(selectors, func(s selector) bool {
			return s.namespace == p.Namespace && s.labels.Matches(labels.Set(p.Labels))
		})
	}, nil
}

// controllerReplicas is how many replicas the workload of p wants (a
// ReplicaSet's or StatefulSet's); 1 for a pod of no controller, which
// nothing would replace; 0 for any other.
func controllerReplicas(ctx context.Context, env Env, p corev1.Pod, cache map[types.UID]int32) (int32, error) {
	owner := metav1.GetControllerOf(&p)
	if owner == nil {
		return 1, nil
	}
	if n, ok := cache[owner.UID]; ok {
		return n, nil
	}
	var n int32
	switch owner.Kind {
	case "ReplicaSet":
		rs, err := env.Kube.AppsV1().ReplicaSets(p.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("the ReplicaSet of %s/%s: %w", p.Namespace, p.Name, err)
		}
		n = ptrOr(rs.Spec.Replicas, 1)
	case "StatefulSet":
		ss, err := env.Kube.AppsV1().StatefulSets(p.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("the StatefulSet of %s/%s: %w", p.Namespace, p.Name, err)
		}
		n = ptrOr(ss.Spec.Replicas, 1)
	default: // a DaemonSet's stays, a Job's runs to its end; others are not known to be single
	}
	cache[owner.UID] = n
	return n, nil
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// placement says where the release's ready pods run: each component's
// nodes, e.g. "backend: agent-1, agent-2; frontend: …; postgresql: server".
func placement(ctx context.Context, env Env) (string, error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("")})
	if err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	nodes := map[string][]string{}
	for _, p := range pods.Items {
		if component := p.Labels["app.kubernetes.io/component"]; component != "" && ready(p) {
			nodes[component] = append(nodes[component], cmp.Or(p.Spec.NodeName, "(no node)"))
		}
	}
	var parts []string
	for _, component := range slices.Sorted(maps.Keys(nodes)) {
		parts = append(parts, component+" on "+strings.Join(slices.Sorted(slices.Values(nodes[component])), ", "))
	}
	return strings.Join(parts, "; "), nil
}
