package proof

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func ptr[T any](v T) *T { return &v }

func appPod(name string, uid int64, reported bool, env ...corev1.EnvVar) *corev1.Pod {
	p := readyPod(name, "backend")
	p.Spec = corev1.PodSpec{
		AutomountServiceAccountToken: ptr(false),
		SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(uid)},
		Containers:                   []corev1.Container{{Name: "app", Env: env}},
	}
	if reported {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app",
			User: &corev1.ContainerUser{Linux: &corev1.LinuxContainerUser{UID: uid, GID: uid}}}}
	}
	return p
}

var dbRef = corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{
	SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "todo-todo-app"}, Key: "database-url"}}}

func secret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "todo-todo-app", Namespace: "todo"},
		Data: map[string][]byte{"database-url": []byte("postgres://todo:hunter2-secret@db/todo"), "openai-api-key": []byte("")}}
}

func TestSecurityPasses(t *testing.T) {
	kube := fake.NewClientset(appPod("be-1", 1000, true, dbRef), appPod("fe-1", 1001, false, dbRef), secret())
	r := Security(t.Context(), Env{Kube: kube, Namespace: "todo", Release: "todo"})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, want := range []string{"2 containers in 2 running pods non-root", "reported by the kubelet for 1", "1 secret values absent"} {
		if !strings.Contains(r.Figures, want) {
			t.Errorf("figures %q lack %q", r.Figures, want)
		}
	}
}

func TestSecurityFindsViolations(t *testing.T) {
	root := appPod("root-1", 0, true, dbRef)
	// The spec claims uid 1000, but the kubelet reports the process runs as root.
	liar := appPod("liar-1", 1000, false, dbRef)
	liar.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", User: &corev1.ContainerUser{Linux: &corev1.LinuxContainerUser{UID: 0}}}}
	leaky := appPod("leaky-1", 1000, true, dbRef, corev1.EnvVar{Name: "DB", Value: "postgres://todo:hunter2-secret@db/todo"})
	token := appPod("token-1", 1000, true, dbRef)
	token.Spec.AutomountServiceAccountToken = nil
	token.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}
	kube := fake.NewClientset(root, liar, leaky, token, secret())
	r := Security(t.Context(), Env{Kube: kube, Namespace: "todo", Release: "todo"})
	if r.Err == nil {
		t.Fatal("violations passed")
	}
	for _, want := range []string{"root-1/app runs as root", "liar-1/app runs as root", "leaky-1: a value of secret todo-todo-app/database-url", "token-1 mounts a service account token"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, r.Err)
		}
	}
}

// A check of no secret value proves nothing: the proof fails rather than pass on it.
func TestSecurityFailsWhenItCheckedNoSecret(t *testing.T) {
	kube := fake.NewClientset(appPod("be-1", 1000, true), appPod("fe-1", 1001, true), secret())
	r := Security(t.Context(), Env{Kube: kube, Namespace: "todo", Release: "todo"})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "no secret value was checked") {
		t.Fatalf("result = %v, want a failure saying no secret was checked", r)
	}
}
