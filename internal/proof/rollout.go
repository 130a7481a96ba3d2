package proof

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// RolloutSets force a new rollout of both apps without a new image: a changed
// pod annotation. The Dagger prove function passes a second image tag instead.
func RolloutSets(stamp string) []string {
	return []string{"backend.podAnnotations.todo-app/rollout=" + stamp, "frontend.podAnnotations.todo-app/rollout=" + stamp}
}

// RollingUpdate upgrades the release under users' traffic (maxUnavailable 0,
// readiness gates, graceful shutdown). The traffic runs until no pod of the
// old ReplicaSets exists any more, and then for the drain delay again: the
// window covers each old pod's drain and shutdown. Goal: 0 failed of every
// kind, 0 writes lost.
func RollingUpdate(ctx context.Context, env Env) Result {
	if env.Upgrade == nil {
		return Result{Err: errors.New("no Helm access to upgrade with")}
	}
	var took, margin time.Duration
	var w window
	traffic, err := underTraffic(ctx, env, func(t *userTraffic) error {
		old, err := appPods(ctx, env)
		if err != nil {
			return err
		}
		watch := watchOldPods(ctx, env, old, t.started)
		start := time.Now()
		sets := env.RolloutSets
		if len(sets) == 0 {
			sets = RolloutSets(time.Now().UTC().Format("20060102T150405"))
		}
		err = env.Upgrade(ctx, sets, env.timeout())
		took = time.Since(start)
		if w = watch.wait(err == nil); err != nil {
			return err
		}
		if w.err != nil {
			return w.err
		}
		margin = drainDelay(ctx, env)
		time.Sleep(margin)
		return nil
	})
	past := traffic.ran - w.lastGone
	figures := fmt.Sprintf("rollout %s; window: first old pod signalled at +%s, the last of %d deleted at +%s, load ran %s past it (drain delay %s)",
		took.Round(100*time.Millisecond), w.firstSignal.Round(100*time.Millisecond), w.pods, w.lastGone.Round(100*time.Millisecond),
		past.Round(100*time.Millisecond), margin)
	if err == nil && past < margin {
		err = fmt.Errorf("the load stopped %s after the last old pod went, before the drain delay (%s)", past.Round(100*time.Millisecond), margin)
	}
	return judge(figures, traffic, err, "during the rollout")
}

// appPods are the UIDs of the pods of the release's Deployments (the apps'
// ReplicaSets' pods, not PostgreSQL's).
func appPods(ctx context.Context, env Env) (map[types.UID]bool, error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("")})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	uids := map[types.UID]bool{}
	for _, p := range pods.Items {
		if owner := metav1.GetControllerOf(&p); owner != nil && owner.Kind == "ReplicaSet" {
			uids[p.UID] = true
		}
	}
	if len(uids) == 0 {
		return nil, fmt.Errorf("no pods of a Deployment match %s", env.selector(""))
	}
	return uids, nil
}

// window is when the old pods went, relative to the traffic's start.
type window struct {
	pods        int
	firstSignal time.Duration // the first old pod seen terminating
	lastGone    time.Duration // the last old pod seen deleted
	err         error
}

// oldPodWatch follows the old pods until every one is deleted.
type oldPodWatch struct {
	stop chan bool // true: wait for the old pods to go; false: give up
	done chan window
}

// watchOldPods polls the release's pods (every 200 ms) for the old ones:
// when each is first seen terminating, and when it is no longer there.
func watchOldPods(ctx context.Context, env Env, old map[types.UID]bool, since time.Time) *oldPodWatch {
	w := &oldPodWatch{stop: make(chan bool, 1), done: make(chan window, 1)}
	go func() {
		res := window{pods: len(old)}
		signalled, gone := map[types.UID]bool{}, map[types.UID]bool{}
		var deadline <-chan time.Time
		for {
			pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("")})
			if err == nil {
				at := time.Since(since)
				present := map[types.UID]bool{}
				for _, p := range pods.Items {
					present[p.UID] = true
					if old[p.UID] && p.DeletionTimestamp != nil && !signalled[p.UID] {
						signalled[p.UID] = true
						if len(signalled) == 1 {
							res.firstSignal = at
						}
					}
				}
				for uid := range old {
					if !present[uid] && !gone[uid] {
						gone[uid] = true
						if !signalled[uid] { // went between two polls
							signalled[uid] = true
							if len(signalled) == 1 {
								res.firstSignal = at
							}
						}
						res.lastGone = at
					}
				}
				if len(gone) == len(old) {
					w.done <- res
					return
				}
			}
			select {
			case wait := <-w.stop:
				if !wait {
					res.err = errors.New("the upgrade failed")
					w.done <- res
					return
				}
				deadline = time.After(env.timeout())
			case <-deadline:
				res.err = fmt.Errorf("%d of %d old pods still there %s after the rollout", len(old)-len(gone), len(old), env.timeout())
				w.done <- res
				return
			case <-ctx.Done():
				res.err = ctx.Err()
				w.done <- res
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return w
}

// wait returns the window once every old pod is gone (or, when upgraded is
// false, at once).
func (w *oldPodWatch) wait(upgraded bool) window {
	w.stop <- upgraded
	return <-w.done
}

// drainDelay is how long the apps keep serving after SIGTERM: the longest
// SHUTDOWN_DELAY of the release's Deployments; 10 s (the chart's) when none
// says.
func drainDelay(ctx context.Context, env Env) time.Duration {
	deps, err := env.Kube.AppsV1().Deployments(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("")})
	longest := time.Duration(0)
	if err == nil {
		for _, d := range deps.Items {
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					if v, err := time.ParseDuration(e.Value); err == nil && e.Name == "SHUTDOWN_DELAY" {
						longest = max(longest, v)
					}
				}
			}
		}
	}
	if longest == 0 {
		return 10 * time.Second
	}
	return longest
}

// BrokenSets make a release whose backend never becomes ready: an image tag
// that does not exist, never pulled.
var BrokenSets = []string{"backend.image.tag=does-not-exist", "backend.image.pullPolicy=Never"}

// Rollback upgrades to a broken release under traffic: the atomic upgrade
// must fail and roll back while the app keeps serving. Then it rolls back to
// the revision before the proof, as an operator would.
func Rollback(ctx context.Context, env Env) Result {
	if env.Upgrade == nil || env.Rollback == nil || env.Revision == nil {
		return Result{Err: errors.New("no Helm access to upgrade and roll back with")}
	}
	before, err := env.Revision()
	if err != nil {
		return Result{Err: err}
	}
	var failedIn, rolledBackIn time.Duration
	traffic, err := underTraffic(ctx, env, func(*userTraffic) error {
		start := time.Now()
		// The broken pods never become ready; the proof is that the deploy
		// tool sees it, at once, and rolls back.
		upgradeErr := env.Upgrade(ctx, BrokenSets, env.timeout())
		failedIn = time.Since(start)
		if upgradeErr == nil {
			return errors.New("the upgrade to a broken release succeeded")
		}
		if !strings.Contains(upgradeErr.Error(), "rolled back") {
			return fmt.Errorf("the broken upgrade failed without rolling back: %w", upgradeErr)
		}
		start = time.Now()
		err := env.Rollback(ctx, before)
		rolledBackIn = time.Since(start)
		return err
	})
	after, _ := env.Revision()
	figures := fmt.Sprintf("broken upgrade failed and rolled back in %s; rollback to revision %d (now %d) in %s",
		failedIn.Round(100*time.Millisecond), before, after, rolledBackIn.Round(100*time.Millisecond))
	return judge(figures, traffic, err, "around the broken release")
}
