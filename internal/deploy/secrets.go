package deploy

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// minSecretLen: shorter values (empty keys, "on") would match by accident.
const minSecretLen = 6

// SecretValues are the values of every Secret the pods' containers take
// variables from, by "secret/key": what a release's credentials are.
func SecretValues(ctx context.Context, kube kubernetes.Interface, namespace string, pods []corev1.Pod) (map[string]string, error) {
	names := map[string]bool{}
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					names[e.ValueFrom.SecretKeyRef.Name] = true
				}
			}
		}
	}
	values := map[string]string{}
	for name := range names {
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read secret %s: %w", name, err)
		}
		for k, v := range s.Data {
			if len(v) >= minSecretLen {
				values[name+"/"+k] = string(v)
			}
		}
	}
	return values, nil
}
