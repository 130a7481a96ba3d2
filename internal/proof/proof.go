// Package proof runs deploy-time proofs against a running release: each does
// something that happens in production (a pod dies, everything restarts) and
// reports a line of figures. The deploy tool runs them (`todoctl prove`), and
// so does the Dagger function `prove` in the ephemeral k3s.
package proof

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/todo-app/todo-app/internal/loadgen"
	"github.com/todo-app/todo-app/internal/smoke"
)

// Env is the release under proof and how to reach it.
type Env struct {
	Kube      kubernetes.Interface
	Namespace string
	Release   string
	// URL reaches the app (through its Ingress); Host is the rule's host, if any.
	URL, Host string
	// Timeout bounds each wait for the cluster; 5 min when zero.
	Timeout time.Duration
	// Poll is the interval of those waits; 2 s when zero.
	Poll time.Duration

	// Upgrade applies the release again with extra --set values, atomically
	// within timeout, and waits until no old pod is left (rolling-update,
	// rollback).
	Upgrade func(ctx context.Context, sets []string, timeout time.Duration) error
	// Rollback returns the release to a revision (0: the previous one) and
	// waits for it.
	Rollback func(ctx context.Context, revision int) error
	// Revision is the deployed revision.
	Revision func() (int, error)
	// RolloutSets make the rolling-update's new release (e.g. a second image
	// tag); a changed pod annotation when empty.
	RolloutSets []string
	// ProbeImage runs the NetworkPolicy probe pods; DefaultProbeImage when empty.
	ProbeImage string
}

func (e Env) timeout() time.Duration { return cmpOr(e.Timeout, 5*time.Minute) }
func (e Env) poll() time.Duration    { return cmpOr(e.Poll, 2*time.Second) }

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Result is one proof's outcome.
type Result struct {
	Name    string
	Figures string
	// Lines are more figures, a line each: one per kind of traffic.
	Lines []string
	Err   error
	// NotRun is set for a proof of the default set that the cluster cannot
	// hold (node-drain on one node); Figures say why.
	NotRun bool
}

func (r Result) String() string {
	var b strings.Builder
	if r.NotRun {
		fmt.Fprintf(&b, "%-12s not run %s", r.Name, r.Figures)
	} else if r.Err != nil {
		fmt.Fprintf(&b, "%-12s FAILED  %s: %v", r.Name, r.Figures, r.Err)
	} else {
		fmt.Fprintf(&b, "%-12s ok      %s", r.Name, r.Figures)
	}
	for _, l := range r.Lines {
		b.WriteString("\n" + LineIndent + l)
	}
	return b.String()
}

// LineIndent starts each of a Result's Lines.
const LineIndent = "    | "

// Proof proves one property of a running release.
type Proof func(ctx context.Context, env Env) Result

// All are the proofs by name.
var All = map[string]Proof{
	"pod-loss":       PodLoss,
	"persistence":    Persistence,
	"security":       Security,
	"rolling-update": RollingUpdate,
	"rollback":       Rollback,
	"autoscaling":    Autoscaling,
	"node-drain":     NodeDrain,
	"node-loss":      NodeLoss,
}

// byNameOnly are the proofs the default set leaves out, and why.
var byNameOnly = map[string]string{"node-loss": "a node stopped for good: run it by name, with a way to stop the node"}

// minNodes are the proofs that need more than one node: the default set
// leaves them out on a smaller cluster, and says so.
var minNodes = map[string]int{"node-drain": 2, "node-loss": 2}

// Names lists the proofs in a stable order.
func Names() []string {
	names := make([]string, 0, len(All))
	for n := range All {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run runs the named proofs (all that the cluster's nodes can hold when
// none) one after another, each once both apps answer through the Ingress:
// a proof measures its own disturbance, not the end of the one before.
func Run(ctx context.Context, env Env, names []string) ([]Result, error) {
	for _, n := range names {
		if All[n] == nil {
			return nil, fmt.Errorf("unknown proof %q (known: %s)", n, strings.Join(Names(), ", "))
		}
	}
	var out []Result
	if len(names) == 0 {
		nodes, err := env.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		for _, n := range Names() {
			if why := byNameOnly[n]; why != "" {
				out = append(out, Result{Name: n, NotRun: true, Figures: "(" + why + ")"})
				continue
			}
			if need := minNodes[n]; len(nodes.Items) < need {
				out = append(out, Result{Name: n, NotRun: true, Figures: fmt.Sprintf("(needs %d nodes, the cluster has %d)", need, len(nodes.Items))})
				continue
			}
			names = append(names, n)
		}
	}
	for _, n := range names {
		var r Result
		if err := awaitServing(ctx, env); err != nil {
			r = Result{Figures: "the app was not serving before the proof", Err: err}
		} else {
			r = All[n](ctx, env)
		}
		r.Name = n
		out = append(out, r)
	}
	return out, nil
}

func (e Env) selector(component string) string {
	s := "app.kubernetes.io/instance=" + e.Release
	if component != "" {
		s += ",app.kubernetes.io/component=" + component
	}
	return s
}

// traffic sends steady authenticated requests to the task API until stopped.
type traffic struct {
	stop context.CancelFunc
	done chan loadgen.Result
}

func startTraffic(ctx context.Context, env Env, token string, concurrency int) *traffic {
	ctx, cancel := context.WithCancel(ctx)
	t := &traffic{stop: cancel, done: make(chan loadgen.Result, 1)}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		res, _ := loadgen.Run(ctx, client, loadgen.Config{Concurrency: concurrency, Duration: 15 * time.Minute, MaxRequests: 50_000_000},
			http.StatusOK, func(ctx context.Context, _ int64) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(env.URL, "/")+"/api/tasks", nil)
				if err == nil {
					req.Header.Set("Authorization", "Bearer "+token)
					if env.Host != "" {
						req.Host = env.Host
					}
				}
				return req, err
			})
		t.done <- res
	}()
	return t
}

// finish stops the traffic and returns what it measured.
func (t *traffic) finish() loadgen.Result {
	t.stop()
	return <-t.done
}

// ready reports whether a pod is running, not terminating, and Ready.
func ready(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}

// deletePods deletes the pods of selector that are not terminating already,
// and returns their UIDs and how many were ready before. Replacements are
// told apart by UID, not name: a StatefulSet re-creates a pod under the same
// name.
func deletePods(ctx context.Context, env Env, selector string) (deleted []types.UID, wereReady int, err error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, 0, fmt.Errorf("list pods %s: %w", selector, err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if ready(p) {
			wereReady++
		}
		if err := deletePod(ctx, env, p); err != nil {
			return deleted, wereReady, err
		}
		deleted = append(deleted, p.UID)
	}
	if len(deleted) == 0 {
		return nil, 0, fmt.Errorf("no pods match %s", selector)
	}
	return deleted, wereReady, nil
}

// deletePod deletes p, and not a pod of the same name made since (a
// StatefulSet's replacement): the precondition names its UID.
func deletePod(ctx context.Context, env Env, p corev1.Pod) error {
	err := env.Kube.CoreV1().Pods(env.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(p.UID))})
	if err != nil {
		return fmt.Errorf("delete pod %s: %w", p.Name, err)
	}
	return nil
}

// waitReplaced waits until selector has want ready pods, none of them deleted.
func waitReplaced(ctx context.Context, env Env, selector string, deleted []types.UID, want int) error {
	return poll(ctx, env, func() (bool, error) {
		pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		n := 0
		for _, p := range pods.Items {
			if ready(p) && !slices.Contains(deleted, p.UID) {
				n++
			}
		}
		if n >= want {
			return true, nil
		}
		return false, fmt.Errorf("%s: %d of %d new pods ready", selector, n, want)
	})
}

// poll calls check every env.poll() until it is done, or fails with its last
// error after env.timeout().
func poll(ctx context.Context, env Env, check func() (done bool, err error)) error {
	deadline := time.Now().Add(env.timeout())
	for {
		done, err := check()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", env.timeout(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(env.poll()):
		}
	}
}

// underTraffic runs f while users' traffic of every kind flows: it starts
// 2 s before f, and f decides how long it runs past the disturbance.
func underTraffic(ctx context.Context, env Env, f func(t *userTraffic) error) (trafficResult, error) {
	t, err := startUserTraffic(ctx, env)
	if err != nil {
		return trafficResult{}, err
	}
	time.Sleep(2 * time.Second)
	ferr := f(t)
	return t.finish(ctx), ferr
}

// judge turns a proof's own error and the traffic it ran under into its
// result: any failed request of any kind fails the proof, and so do a kind
// that sent none and a lost write.
func judge(figures string, traffic trafficResult, err error, while string) Result {
	return Result{Figures: figures + "; " + traffic.summary(), Lines: traffic.lines(), Err: errors.Join(err, traffic.err(while))}
}

// awaitServing waits until both apps answer through the Ingress.
func awaitServing(ctx context.Context, env Env) error {
	return smoke.AwaitServing(ctx, env.URL, smoke.Options{Host: env.Host}, env.timeout())
}

// signUp makes a user for the proof, through the Ingress.
func signUp(ctx context.Context, env Env) (*smoke.Session, error) {
	return smoke.SignUp(ctx, env.URL, smoke.Options{Host: env.Host})
}
