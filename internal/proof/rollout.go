package proof

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/todo-app/todo-app/internal/deploy"
)

// RolloutSets force a new rollout of both apps without a new image: a changed
// pod annotation. The Dagger prove function passes a second image tag instead.
func RolloutSets(stamp string) []string {
	return []string{"backend.podAnnotations.todo-app/rollout=" + stamp, "frontend.podAnnotations.todo-app/rollout=" + stamp}
}

// RollingUpdate upgrades the release under steady traffic (maxUnavailable 0,
// readiness gates, graceful shutdown) and reports failed requests (goal 0)
// and the rollout time.
func RollingUpdate(ctx context.Context, env Env) Result {
	if env.Upgrade == nil {
		return Result{Err: errors.New("no Helm access to upgrade with")}
	}
	var took time.Duration
	load, err := underTraffic(ctx, env, func() error {
		start := time.Now()
		sets := env.RolloutSets
		if len(sets) == 0 {
			sets = RolloutSets(time.Now().UTC().Format("20060102T150405"))
		}
		if err := env.Upgrade(ctx, sets, env.timeout()); err != nil {
			return err
		}
		_, err := deploy.Wait(ctx, env.Kube, env.Namespace, env.selector(""), deploy.WaitOptions{Timeout: env.timeout(), Interval: env.poll()})
		took = time.Since(start)
		return err
	})
	figures := fmt.Sprintf("failed requests %d of %d during a rollout of %s", load.Failures, load.Requests, took.Round(100*time.Millisecond))
	return judge(figures, load, err, "during the rollout")
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
	var upgradeErr error
	load, err := underTraffic(ctx, env, func() error {
		start := time.Now()
		// Short: the broken pods will never be ready; the proof is that Helm notices and rolls back.
		upgradeErr = env.Upgrade(ctx, BrokenSets, min(env.timeout(), 2*time.Minute))
		failedIn = time.Since(start)
		if upgradeErr == nil {
			return errors.New("the upgrade to a broken release succeeded")
		}
		if !strings.Contains(upgradeErr.Error(), "rolled back") {
			return fmt.Errorf("the broken upgrade failed without rolling back: %w", upgradeErr)
		}
		start = time.Now()
		if err := env.Rollback(ctx, before); err != nil {
			return err
		}
		_, err := deploy.Wait(ctx, env.Kube, env.Namespace, env.selector(""), deploy.WaitOptions{Timeout: env.timeout(), Interval: env.poll()})
		rolledBackIn = time.Since(start)
		return err
	})
	after, _ := env.Revision()
	figures := fmt.Sprintf("broken upgrade failed and rolled back in %s, failed requests %d of %d; rollback to revision %d (now %d) in %s",
		failedIn.Round(100*time.Millisecond), load.Failures, load.Requests, before, after, rolledBackIn.Round(100*time.Millisecond))
	return judge(figures, load, err, "around the broken release")
}
