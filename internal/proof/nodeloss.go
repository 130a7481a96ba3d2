package proof

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/todo-app/todo-app/internal/deploy"
)

// NodeLossRequest names the ConfigMap through which the node-loss proof asks
// for a node to be stopped, its data's "node" key the node's name: whoever
// can stop the machine watches for it (the Dagger module, which runs the
// agents; an operator with `todoctl node-loss-request`).
func NodeLossRequest(release string) string { return release + "-proof-node-loss" }

// NodeLoss measures what losing a node for good costs: it asks for a worker
// node that holds replicas of the apps to be stopped at once (first moving
// off it, cordoned, any one-replica part of the serving path that can move,
// such as k3s's Traefik or CoreDNS), and under users' traffic reports
// each kind's failures and when they ended, when the node turned NotReady,
// when its pods left the Services' endpoints, and when each app had its
// replicas ready elsewhere; then it deletes the Node, as a cloud's node
// controller does, so that its pods go. Requests to the lost pods fail until
// the endpoints drop them: that is the measurement, not a failure; a lost
// write, or an app that never recovers, is.
func NodeLoss(ctx context.Context, env Env) Result {
	nodes, err := env.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return Result{Figures: "no nodes", Err: fmt.Errorf("list nodes: %w", err)}
	}
	controlPlane := map[string]bool{}
	for _, n := range nodes.Items {
		_, cp := n.Labels["node-role.kubernetes.io/control-plane"]
		_, master := n.Labels["node-role.kubernetes.io/master"]
		controlPlane[n.Name] = cp || master
	}
	before, err := placement(ctx, env)
	if err != nil {
		return Result{Figures: "no placement", Err: err}
	}
	node, move, err := lossTarget(ctx, env, controlPlane)
	if err != nil {
		return Result{Figures: "no worker node to lose", Err: err, Lines: []string{"before: " + before}}
	}
	prepared, err := prepareLoss(ctx, env, node, move)
	if err != nil {
		return Result{Figures: "could not prepare " + node, Err: err, Lines: append(prepared, "before: "+before)}
	}
	if len(prepared) > 0 {
		if before, err = placement(ctx, env); err != nil {
			return Result{Figures: "no placement", Err: err}
		}
	}
	l := &nodeLoss{node: node, replicas: map[string]int{}}
	traffic, err := underTraffic(ctx, env, func(t *userTraffic) error {
		l.started = t.started
		return l.run(ctx, env)
	})
	cleanup := context.WithoutCancel(ctx)
	if derr := env.Kube.CoreV1().ConfigMaps(env.Namespace).Delete(cleanup, NodeLossRequest(env.Release), metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
		err = errors.Join(err, derr)
	}
	if l.notReadyAt > 0 {
		if derr := env.Kube.CoreV1().Nodes().Delete(cleanup, node, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("delete the lost node: %w", derr))
		}
	}
	after, perr := placement(ctx, env)
	if perr != nil {
		after = perr.Error()
	}
	return Result{Figures: l.String() + "; " + traffic.summary(), Err: errors.Join(err, traffic.integrityErr()),
		Lines: append(append(traffic.lines(), prepared...), "before: "+before, "after:  "+after)}
}

// lossTarget is the worker node to lose and what must move off it first:
// among the nodes that are not excluded and hold replicas of the apps, the
// one with the fewest one-replica parts of the serving path, all of which
// can move (a ReplicaSet's, none keeping its data on a volume as the
// in-cluster database does), then the most replicas. k3s places its one-replica Traefik and
// CoreDNS anywhere; losing them would measure them, not the app.
func lossTarget(ctx context.Context, env Env, excluded map[string]bool) (string, []corev1.Pod, error) {
	h, err := servingHoldings(ctx, env)
	if err != nil {
		return "", nil, err
	}
	best := ""
	for _, node := range slices.Sorted(maps.Keys(h.apps)) {
		if excluded[node] || slices.ContainsFunc(h.single[node], func(p corev1.Pod) bool { return !movable(p) }) {
			continue
		}
		if best == "" || len(h.single[node]) < len(h.single[best]) ||
			len(h.single[node]) == len(h.single[best]) && h.apps[node] > h.apps[best] {
			best = node
		}
	}
	if best == "" {
		return "", nil, fmt.Errorf("every worker node with replicas of the apps holds a one-replica workload's volume (%s)", h)
	}
	return best, h.single[best], nil
}

// movable says whether evicting p moves it: a ReplicaSet replaces it, and
// no volume claim ties it to its node.
func movable(p corev1.Pod) bool {
	owner := metav1.GetControllerOf(&p)
	return owner != nil && owner.Kind == "ReplicaSet" &&
		!slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.PersistentVolumeClaim != nil })
}

// prepareLoss makes node what the proof must lose, before the traffic: the
// one-replica pods of move go elsewhere, and an app with no replica there
// gets one, each moved as a drain moves pods. It says what it moved.
func prepareLoss(ctx context.Context, env Env, node string, move []corev1.Pod) ([]string, error) {
	var done []string
	if len(move) > 0 {
		took, err := relocate(ctx, env, []string{node}, move)
		if err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("first moved off %s in %s: %s", node, round(took), podNames(move)))
	}
	nodes, err := env.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return done, fmt.Errorf("list nodes: %w", err)
	}
	var others []string // schedulable now: cordoned while an app's replica moves to node
	for _, n := range nodes.Items {
		if n.Name != node && !n.Spec.Unschedulable {
			others = append(others, n.Name)
		}
	}
	for _, component := range appComponents {
		pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
		if err != nil {
			return done, fmt.Errorf("list pods: %w", err)
		}
		i := slices.IndexFunc(pods.Items, func(p corev1.Pod) bool { return ready(p) && p.Spec.NodeName == node })
		j := slices.IndexFunc(pods.Items, func(p corev1.Pod) bool { return ready(p) && p.Spec.NodeName != node && movable(p) })
		if i >= 0 || j < 0 {
			continue
		}
		moved := pods.Items[j]
		took, err := relocate(ctx, env, others, []corev1.Pod{moved})
		if err != nil {
			return done, err
		}
		done = append(done, fmt.Sprintf("first moved %s from %s to %s in %s", moved.Name, moved.Spec.NodeName, node, round(took)))
	}
	return done, nil
}

// relocate moves pods as a drain would, with the nodes cordoned meanwhile:
// each evicted, and waited for until its workload is whole again.
func relocate(ctx context.Context, env Env, cordoned []string, pods []corev1.Pod) (took time.Duration, err error) {
	start := time.Now()
	var uncordon []string
	defer func() {
		for _, n := range uncordon {
			err = errors.Join(err, cordon(context.WithoutCancel(ctx), env, n, false))
		}
	}()
	for _, n := range cordoned {
		if err := cordon(ctx, env, n, true); err != nil {
			return 0, err
		}
		uncordon = append(uncordon, n)
	}
	for _, p := range pods {
		if _, err := evict(ctx, env, p); err != nil {
			return 0, err
		}
	}
	err = poll(ctx, env, func() (bool, error) {
		for _, p := range pods {
			whole, err := replaced(ctx, env, p)
			if err != nil {
				return false, err
			}
			if !whole {
				return false, fmt.Errorf("%s/%s not yet replaced", p.Namespace, p.Name)
			}
		}
		return true, nil
	})
	return time.Since(start), err
}

// replaced says whether p, a ReplicaSet's, is gone and its ReplicaSet has
// every replica ready.
func replaced(ctx context.Context, env Env, p corev1.Pod) (bool, error) {
	got, err := env.Kube.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	switch {
	case err == nil && got.UID == p.UID:
		return false, nil
	case err != nil && !apierrors.IsNotFound(err):
		return false, err
	}
	owner := metav1.GetControllerOf(&p) // a ReplicaSet: only movable pods are moved
	rs, err := env.Kube.AppsV1().ReplicaSets(p.Namespace).Get(ctx, owner.Name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return rs.Status.ReadyReplicas >= ptrOr(rs.Spec.Replicas, 1), nil
}

// nodeLoss is one node's loss, its times from the traffic's start.
type nodeLoss struct {
	node                                        string
	started                                     time.Time
	replicas                                    map[string]int // ready replicas of each app before
	askedAt, notReadyAt, unroutedAt, replacedAt time.Duration
}

// run asks for the node to be stopped and waits until it is NotReady, out
// of every endpoint, and each app is whole again elsewhere.
func (l *nodeLoss) run(ctx context.Context, env Env) error {
	for _, component := range appComponents {
		pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
		if err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		for _, p := range pods.Items {
			if ready(p) {
				l.replicas[component]++
			}
		}
	}
	request := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: NodeLossRequest(env.Release), Namespace: env.Namespace},
		Data: map[string]string{"node": l.node}}
	if _, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Create(ctx, request, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("ask for %s to be stopped: %w", l.node, err)
	}
	l.askedAt = time.Since(l.started)
	return poll(ctx, env, func() (bool, error) {
		at := time.Since(l.started)
		if l.notReadyAt == 0 {
			n, err := env.Kube.CoreV1().Nodes().Get(ctx, l.node, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !deploy.NodeReady(*n) {
				l.notReadyAt = at
			}
		}
		if l.unroutedAt == 0 {
			routed, err := routedTo(ctx, env, l.node)
			if err != nil {
				return false, err
			}
			if routed == 0 {
				l.unroutedAt = at
			}
		}
		if l.replacedAt == 0 {
			whole := true
			for component, want := range l.replicas {
				pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
				if err != nil {
					return false, err
				}
				n := 0
				for _, p := range pods.Items {
					if ready(p) && p.Spec.NodeName != l.node {
						n++
					}
				}
				whole = whole && n >= want
			}
			if whole {
				l.replacedAt = at
			}
		}
		return l.notReadyAt > 0 && l.unroutedAt > 0 && l.replacedAt > 0, fmt.Errorf("after losing %s: %s", l.node, l)
	})
}

// routedTo counts the ready endpoints of the release's Services on node.
func routedTo(ctx context.Context, env Env, node string) (int, error) {
	list, err := env.Kube.DiscoveryV1().EndpointSlices(env.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list endpoint slices: %w", err)
	}
	n := 0
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			if e.NodeName != nil && *e.NodeName == node && endpointReady(e) {
				n++
			}
		}
	}
	return n, nil
}

func endpointReady(e discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}

func (l *nodeLoss) String() string {
	at := func(d time.Duration) string {
		if d == 0 {
			return "not yet"
		}
		return "+" + round(d).String()
	}
	return fmt.Sprintf("lost %s (stop asked at %s): NotReady at %s, out of the endpoints at %s, the apps whole elsewhere at %s",
		l.node, at(l.askedAt), at(l.notReadyAt), at(l.unroutedAt), at(l.replacedAt))
}

// AwaitNodeLossRequest waits (up to timeout) for the node-loss proof to ask
// for a node to be stopped, and returns the node's name.
func AwaitNodeLossRequest(ctx context.Context, env Env, timeout time.Duration) (string, error) {
	env.Timeout, env.Poll = timeout, time.Second
	var node string
	err := poll(ctx, env, func() (bool, error) {
		cm, err := env.Kube.CoreV1().ConfigMaps(env.Namespace).Get(ctx, NodeLossRequest(env.Release), metav1.GetOptions{})
		if err != nil {
			return false, fmt.Errorf("no request to stop a node: %w", err)
		}
		node = cm.Data["node"]
		return node != "", errors.New("a request to stop a node names none")
	})
	return node, err
}
