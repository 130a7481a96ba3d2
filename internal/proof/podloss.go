package proof

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodLoss deletes a serving pod of the backend and one of the frontend at
// once, under users' traffic, which runs until both deleted pods are gone
// (their drain over) and their replacements are ready. The app must keep
// answering every kind of request (goal: 0 failed, 0 writes lost).
func PodLoss(ctx context.Context, env Env) Result {
	var losses []*podLoss
	traffic, err := underTraffic(ctx, env, func(*userTraffic) error {
		for _, component := range []string{"backend", "frontend"} {
			l, err := loseServingPod(ctx, env, env.selector(component))
			if err != nil {
				return err
			}
			losses = append(losses, l)
		}
		err := poll(ctx, env, func() (bool, error) {
			done := true
			for _, l := range losses {
				ok, err := l.check(ctx, env)
				if err != nil {
					return false, err
				}
				done = done && ok
			}
			return done, fmt.Errorf("not recovered: %s", describeLosses(losses))
		})
		time.Sleep(time.Second) // and a moment after
		return err
	})
	return judge(describeLosses(losses), traffic, err, "while pods were replaced")
}

// podLoss is one deleted pod, followed until it is gone and replaced.
type podLoss struct {
	selector  string
	name      string
	uid       types.UID
	before    map[types.UID]bool // the pods before the deletion
	wereReady int
	at        time.Time
	// gone and replaced are how long after the deletion the pod was no
	// longer there, and a new one (a UID not seen before) was ready with
	// as many ready as before; 0 until then.
	gone, replaced time.Duration
}

// loseServingPod deletes a pod of selector that is ready and not
// terminating: one that serves.
func loseServingPod(ctx context.Context, env Env, selector string) (*podLoss, error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %s: %w", selector, err)
	}
	l := &podLoss{selector: selector, before: map[types.UID]bool{}}
	var victim *corev1.Pod
	for i, p := range pods.Items {
		l.before[p.UID] = true
		if ready(p) {
			l.wereReady++
			if victim == nil {
				victim = &pods.Items[i]
			}
		}
	}
	if victim == nil {
		return nil, fmt.Errorf("no pods match %s that are ready and not terminating", selector)
	}
	l.name, l.uid, l.at = victim.Name, victim.UID, time.Now()
	return l, deletePod(ctx, env, *victim)
}

// check notes whether the deleted pod is gone and replaced, and reports
// whether both are so.
func (l *podLoss) check(ctx context.Context, env Env) (bool, error) {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: l.selector})
	if err != nil {
		return false, err
	}
	present := slices.ContainsFunc(pods.Items, func(p corev1.Pod) bool { return p.UID == l.uid })
	readyNow, fresh := 0, false
	for _, p := range pods.Items {
		if ready(p) {
			readyNow++
			fresh = fresh || !l.before[p.UID]
		}
	}
	if !present && l.gone == 0 {
		l.gone = time.Since(l.at)
	}
	if fresh && readyNow >= l.wereReady && l.replaced == 0 {
		l.replaced = time.Since(l.at)
	}
	return l.gone > 0 && l.replaced > 0, nil
}

func describeLosses(losses []*podLoss) string {
	if len(losses) == 0 {
		return "no pod deleted"
	}
	var parts []string
	for _, l := range losses {
		part := "deleted " + l.name + " (serving)"
		if l.replaced > 0 {
			part += fmt.Sprintf(", replacement ready in %s", l.replaced.Round(100*time.Millisecond))
		}
		if l.gone > 0 {
			part += fmt.Sprintf(", gone in %s", l.gone.Round(100*time.Millisecond))
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}
