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
	var recovered time.Duration
	load, err := underTraffic(ctx, env, func() error {
		start := time.Now()
		defer func() { recovered = time.Since(start) }()
		for _, component := range []string{"backend", "frontend"} {
			sel := env.selector(component)
			deleted, wereReady, err := deletePods(ctx, env, sel, 1)
			if err != nil {
				return err
			}
			if err := waitReplaced(ctx, env, sel, deleted, wereReady); err != nil {
				return err
			}
		}
		return nil
	})
	figures := fmt.Sprintf("failed requests %d of %d, full replica sets again in %s",
		load.Failures, load.Requests, recovered.Round(100*time.Millisecond))
	return judge(figures, load, err, "while pods were replaced")
}
