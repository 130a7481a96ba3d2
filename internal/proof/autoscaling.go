package proof

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AutoscalingSets turn the backend's HPA on for the proof, with a scale-down
// window of 30 s instead of the chart's 300 s so that the proof sees it.
// The Dagger module's pipeline.ProofSets carry the same values.
var AutoscalingSets = []string{
	"backend.autoscaling.enabled=true", "backend.autoscaling.minReplicas=2", "backend.autoscaling.maxReplicas=4",
	"backend.autoscaling.targetCPUUtilizationPercentage=50", "backend.autoscaling.scaleDownStabilizationSeconds=30",
}

// Autoscaling drives CPU load on the backend through the Ingress until its
// HPA scales up, then stops the load and waits for it to scale back down.
func Autoscaling(ctx context.Context, env Env) Result {
	hpas, err := env.Kube.AutoscalingV2().HorizontalPodAutoscalers(env.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: env.selector("backend")})
	if err != nil || len(hpas.Items) == 0 {
		return Result{Err: fmt.Errorf("no backend HPA (install with %s): %v", strings.Join(AutoscalingSets, ","), err)}
	}
	hpa := hpas.Items[0]
	name := hpa.Name
	minReplicas := int32(1)
	if m := hpa.Spec.MinReplicas; m != nil {
		minReplicas = *m
	}
	window := "the default"
	if b := hpa.Spec.Behavior; b != nil && b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
		window = fmt.Sprintf("%d s", *b.ScaleDown.StabilizationWindowSeconds)
	}
	replicas := func() (int32, error) {
		h, err := env.Kube.AutoscalingV2().HorizontalPodAutoscalers(env.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		return h.Status.CurrentReplicas, nil
	}
	session, err := signUp(ctx, env)
	if err != nil {
		return Result{Err: fmt.Errorf("sign up: %w", err)}
	}

	t := startTraffic(ctx, env, session.Token(), 16) // enough to load the backend's CPU
	peak, upAfter, err := watchReplicas(ctx, env, replicas, func(n int32) bool { return n > minReplicas }, minReplicas)
	// Keep the load for 5 more polls to see the peak, then release it.
	for i := 0; err == nil && i < 5; i++ {
		time.Sleep(env.poll())
		if n, rerr := replicas(); rerr == nil {
			peak = max(peak, n)
		}
	}
	load := t.finish()
	if err != nil {
		return Result{Figures: fmt.Sprintf("no scale-up in %s under %d requests", env.timeout(), load.Requests), Err: err}
	}
	_, downAfter, err := watchReplicas(ctx, env, replicas, func(n int32) bool { return n <= minReplicas }, 0)
	figures := fmt.Sprintf("scaled up from %d after %s under load (%.0f req/s), peak %d replicas; back to %d %s after the load "+
		"(scale-down window %s; the chart's default is 300 s)", minReplicas, upAfter.Round(time.Second), load.PerSecond(), peak,
		minReplicas, downAfter.Round(time.Second), window)
	if err != nil {
		return Result{Figures: figures, Err: errors.New("did not scale back down: " + err.Error())}
	}
	return Result{Figures: figures}
}

// watchReplicas polls until done(replicas) holds, returning the peak seen and
// how long it took.
func watchReplicas(ctx context.Context, env Env, replicas func() (int32, error), done func(int32) bool, peak int32) (int32, time.Duration, error) {
	start := time.Now()
	deadline := start.Add(env.timeout())
	for {
		n, err := replicas()
		if err != nil {
			return peak, 0, err
		}
		peak = max(peak, n)
		if done(n) {
			return peak, time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return peak, time.Since(start), fmt.Errorf("replicas %d after %s", n, env.timeout())
		}
		select {
		case <-ctx.Done():
			return peak, 0, ctx.Err()
		case <-time.After(env.poll()):
		}
	}
}
