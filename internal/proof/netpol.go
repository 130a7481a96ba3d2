package proof

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultProbeImage runs the NetworkPolicy probes (it needs nc).
const DefaultProbeImage = "busybox:1.37"

// networkPolicyCheck, when the release has a NetworkPolicy for PostgreSQL,
// shows that a pod outside the app cannot reach PostgreSQL while it can
// reach the frontend (the control: the probe itself works). It returns what
// it found, or "" when there is no such policy.
func networkPolicyCheck(ctx context.Context, env Env) (string, error) {
	policies, err := env.Kube.NetworkingV1().NetworkPolicies(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector("postgresql")})
	if err != nil || len(policies.Items) == 0 {
		return "", err
	}
	service := func(component string) (string, int32, error) {
		svcs, err := env.Kube.CoreV1().Services(env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: env.selector(component)})
		if err != nil || len(svcs.Items) == 0 || len(svcs.Items[0].Spec.Ports) == 0 {
			return "", 0, fmt.Errorf("no %s service: %v", component, err)
		}
		return svcs.Items[0].Name, svcs.Items[0].Spec.Ports[0].Port, nil
	}
	db, dbPort, err := service("postgresql")
	if err != nil {
		return "", err
	}
	fe, fePort, err := service("frontend")
	if err != nil {
		return "", err
	}
	reachedFrontend, err := probe(ctx, env, fe, fePort)
	if err != nil {
		return "", err
	}
	if !reachedFrontend {
		return "", fmt.Errorf("the probe pod cannot reach the frontend either: the check would prove nothing")
	}
	reachedDB, err := probe(ctx, env, db, dbPort)
	if err != nil {
		return "", err
	}
	if reachedDB {
		return "", fmt.Errorf("a pod outside the app reached PostgreSQL (%s:%d) despite the NetworkPolicy", db, dbPort)
	}
	return "NetworkPolicy: a pod outside the app cannot reach PostgreSQL (it does reach the frontend)", nil
}

// probe runs a short-lived pod outside the app that tries a TCP connection,
// and reports whether it connected.
func probe(ctx context.Context, env Env, host string, port int32) (bool, error) {
	image := env.ProbeImage
	if image == "" {
		image = DefaultProbeImage
	}
	no, yes := false, true
	uid := int64(65534)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "todo-proof-netpol-" + strings.ToLower(rand.Text()[:8]),
			Labels: map[string]string{"app.kubernetes.io/name": "todo-proof", "app.kubernetes.io/component": "probe"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: image,
				Command: []string{"nc", "-z", "-w", "5", host, fmt.Sprint(port)},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	pods := env.Kube.CoreV1().Pods(env.Namespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return false, fmt.Errorf("create probe pod: %w", err)
	}
	defer pods.Delete(context.WithoutCancel(ctx), pod.Name, metav1.DeleteOptions{})
	deadline := time.Now().Add(env.timeout())
	for {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		switch p.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, nil
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("probe pod %s still %s after %s", pod.Name, p.Status.Phase, env.timeout())
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(env.poll()):
		}
	}
}
