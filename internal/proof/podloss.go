package proof

import (
	"context"
	"fmt"
	"time"
)

// PodLoss deletes one pod of the backend and one of the frontend under steady
// traffic. The app must keep answering (goal: 0 failed requests) and get its
// full replica sets back.
func PodLoss(ctx context.Context, env Env) Result {
	session, err := signUp(ctx, env)
	if err != nil {
		return Result{Figures: "could not sign up", Err: err}
	}
	t := startTraffic(ctx, env, session.Token())
	time.Sleep(2 * time.Second) // steady state before the loss
	start := time.Now()
	var waitErr error
	for _, component := range []string{"backend", "frontend"} {
		sel := env.selector(component)
		deleted, wereReady, err := deletePods(ctx, env, sel, 1)
		if err != nil {
			waitErr = err
			break
		}
		if err := waitReplaced(ctx, env, sel, deleted, wereReady); err != nil {
			waitErr = err
			break
		}
	}
	recovered := time.Since(start)
	time.Sleep(2 * time.Second) // traffic after recovery counts too
	load := t.finish()
	figures := fmt.Sprintf("failed requests %d of %d, full replica sets again in %s",
		load.Failures, load.Requests, recovered.Round(100*time.Millisecond))
	switch {
	case waitErr != nil:
		return Result{Figures: figures, Err: waitErr}
	case load.Requests == 0:
		return Result{Figures: figures, Err: fmt.Errorf("no traffic reached the app")}
	case load.Failures > 0:
		return Result{Figures: figures, Err: fmt.Errorf("%d requests failed while pods were replaced", load.Failures)}
	}
	return Result{Figures: figures}
}
