package proof

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/todo-app/todo-app/internal/deploy"
)

// Security checks the running release's pods: every running container's
// user is non-root (as the kubelet reports the process's uid where the
// cluster supports it, else from the effective security context), no value
// of the release's Secrets appears in any pod spec, and no service account
// token is mounted. With a NetworkPolicy for PostgreSQL, a pod outside the
// app must not reach it.
func Security(ctx context.Context, env Env) Result {
	pods, err := env.Kube.CoreV1().Pods(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("")})
	if err != nil {
		return Result{Err: fmt.Errorf("list pods: %w", err)}
	}
	secrets, err := deploy.SecretValues(ctx, env.Kube, env.Namespace, pods.Items)
	if err != nil {
		return Result{Err: err}
	}
	var problems []string
	containers, fromStatus, running := 0, 0, 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue // finished helm test pods and the like
		}
		running++
		for _, c := range p.Spec.Containers {
			containers++
			uid, reported, known := runningUID(p, c)
			if reported {
				fromStatus++
			}
			switch {
			case known && uid == 0:
				problems = append(problems, fmt.Sprintf("%s/%s runs as root", p.Name, c.Name))
			case !known && !nonRootEnforced(p, c):
				problems = append(problems, fmt.Sprintf("%s/%s: user unknown and runAsNonRoot not set", p.Name, c.Name))
			}
		}
		if tokenMounted(p) {
			problems = append(problems, fmt.Sprintf("%s mounts a service account token", p.Name))
		}
		spec, _ := json.Marshal(p.Spec)
		for name, value := range secrets {
			if strings.Contains(string(spec), value) {
				problems = append(problems, fmt.Sprintf("%s: a value of secret %s appears in its spec", p.Name, name))
			}
		}
	}
	figures := fmt.Sprintf("%d containers in %d running pods non-root (uid reported by the kubelet for %d), "+
		"%d secret values absent from pod specs, no service account tokens", containers, running, fromStatus, len(secrets))
	if running == 0 {
		return Result{Figures: figures, Err: fmt.Errorf("no running pods match %s", env.selector(""))}
	}
	if len(secrets) == 0 {
		// The apps take their credentials from Secrets: none read means none checked.
		return Result{Figures: figures, Err: errors.New("no secret value was checked: no pod takes one from a Secret")}
	}
	if len(problems) > 0 {
		return Result{Figures: figures, Err: fmt.Errorf("%s", strings.Join(problems, "; "))}
	}
	netpol, err := networkPolicyCheck(ctx, env)
	if err != nil {
		return Result{Figures: figures, Err: err}
	}
	if netpol != "" {
		figures += "; " + netpol
	}
	return Result{Figures: figures}
}

// runningUID is the container's uid: from its status when the kubelet
// reports it (reported), else from the effective security context (known).
func runningUID(p corev1.Pod, c corev1.Container) (uid int64, reported, known bool) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == c.Name && cs.User != nil && cs.User.Linux != nil {
			return cs.User.Linux.UID, true, true
		}
	}
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return *c.SecurityContext.RunAsUser, false, true
	}
	if p.Spec.SecurityContext != nil && p.Spec.SecurityContext.RunAsUser != nil {
		return *p.Spec.SecurityContext.RunAsUser, false, true
	}
	return 0, false, false
}

// nonRootEnforced: the kubelet refuses to start the container as root.
func nonRootEnforced(p corev1.Pod, c corev1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	return p.Spec.SecurityContext != nil && p.Spec.SecurityContext.RunAsNonRoot != nil && *p.Spec.SecurityContext.RunAsNonRoot
}

func tokenMounted(p corev1.Pod) bool {
	for _, c := range p.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(m.MountPath, "/var/run/secrets/kubernetes.io/serviceaccount") {
				return true
			}
		}
	}
	for _, v := range p.Spec.Volumes {
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					return true
				}
			}
		}
	}
	return false
}
