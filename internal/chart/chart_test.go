package chart_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/todo-app/todo-app/internal/chart"
)

const chartDir = "../../helm-chart"

// Secret values set in tests; none may appear in a pod spec.
const (
	authSecret = "test-better-auth-secret-0123456789abcdef"
	dbURL      = "postgres://todo:db-password-xyz@db.example:5432/todo"
	pgPassword = "pg-password-abc"
	openAIKey  = "sk-test-key-qwerty"
)

var secretValues = []string{authSecret, "db-password-xyz", pgPassword, openAIKey}

type scenario struct {
	name  string
	files []string
	sets  []string
}

var scenarios = []scenario{
	{"default", nil, []string{"secrets.betterAuthSecret=" + authSecret, "secrets.databaseUrl=" + dbURL, "secrets.openaiApiKey=" + openAIKey}},
	{"dev", []string{"values-dev.yaml"}, []string{"secrets.betterAuthSecret=" + authSecret, "postgresql.auth.password=" + pgPassword}},
	{"prod", []string{"values-prod.yaml"}, nil},
	{"ingress off", nil, []string{"ingress.enabled=false", "secrets.betterAuthSecret=" + authSecret, "secrets.databaseUrl=" + dbURL}},
	{"hpa and pdb off", nil, []string{"backend.autoscaling.enabled=false", "frontend.autoscaling.enabled=false", "backend.pdb.enabled=false", "frontend.pdb.enabled=false", "secrets.betterAuthSecret=" + authSecret, "secrets.databaseUrl=" + dbURL}},
	{"postgresql and network policy on", nil, []string{"postgresql.enabled=true", "networkPolicy.enabled=true", "postgresql.auth.password=" + pgPassword, "secrets.betterAuthSecret=" + authSecret}},
	{"existing secret", nil, []string{"secrets.existingSecret=my-secrets"}},
	{"registry, pull secrets, TLS", nil, []string{"global.imageRegistry=ghcr.io/acme", "global.imagePullSecrets[0]=regcred", "ingress.tls.enabled=true", "secrets.existingSecret=s"}},
}

// values merges the scenario's values files (relative to the chart) and sets.
func (sc scenario) values(t *testing.T) map[string]any {
	t.Helper()
	var files []string
	for _, f := range sc.files {
		files = append(files, filepath.Join(chartDir, f))
	}
	vals, err := chart.Values(files, sc.sets)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

var kubeVersions = []string{"v1.25.0", "v1.29.0", "v1.33.0"}

func render(t *testing.T, sc scenario, kube string) []chart.Document {
	t.Helper()
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := sc.values(t)
	rel, err := chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps", KubeVersion: kube})
	if err != nil {
		t.Fatalf("%s on %s: %v", sc.name, kube, err)
	}
	docs, err := chart.Decode(rel)
	if err != nil {
		t.Fatalf("%s on %s: strict decode: %v", sc.name, kube, err)
	}
	return docs
}

func TestRenderAndCheck(t *testing.T) {
	for _, sc := range scenarios {
		for _, kube := range kubeVersions {
			t.Run(sc.name+"/"+kube, func(t *testing.T) {
				docs := render(t, sc, kube)
				checkLabels(t, docs)
				checkReferences(t, docs, sc)
				checkPods(t, docs)
			})
		}
	}
}

// objects of type T among docs, by name.
func objects[T any](docs []chart.Document, hooks bool) map[string]*T {
	out := map[string]*T{}
	for _, d := range docs {
		if d.Hook != hooks {
			continue
		}
		if o, ok := any(d.Object).(*T); ok {
			m, _ := meta.Accessor(d.Object)
			out[m.GetName()] = o
		}
	}
	return out
}

func checkLabels(t *testing.T, docs []chart.Document) {
	for _, d := range docs {
		m, err := meta.Accessor(d.Object)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"} {
			if m.GetLabels()[k] == "" {
				t.Errorf("%s %s lacks label %s", d.Source, m.GetName(), k)
			}
		}
	}
}

type workload struct {
	name     string
	template corev1.PodTemplateSpec
}

func workloads(docs []chart.Document) []workload {
	var ws []workload
	for n, d := range objects[appsv1.Deployment](docs, false) {
		ws = append(ws, workload{n, d.Spec.Template})
	}
	for n, s := range objects[appsv1.StatefulSet](docs, false) {
		ws = append(ws, workload{n, s.Spec.Template})
	}
	return ws
}

func checkReferences(t *testing.T, docs []chart.Document, sc scenario) {
	services := objects[corev1.Service](docs, false)
	deployments := objects[appsv1.Deployment](docs, false)
	configMaps := objects[corev1.ConfigMap](docs, false)
	secrets := objects[corev1.Secret](docs, false)
	ws := workloads(docs)

	// Every Service selects a workload's pods, and its named target port exists there.
	for name, svc := range services {
		var matched *workload
		for i, w := range ws {
			if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
				matched = &ws[i]
			}
		}
		if matched == nil {
			t.Errorf("service %s selects no pods", name)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if !hasPort(matched.template, p.TargetPort.String()) {
				t.Errorf("service %s targets port %s, which %s does not declare", name, p.TargetPort.String(), matched.name)
			}
		}
	}
	// Deployments select their own pods.
	for name, d := range deployments {
		sel, err := metaSelector(d)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("deployment %s selector does not match its pod labels (%v)", name, err)
		}
	}
	// Ingress backends are Services with the named port; paths go most specific first.
	for name, ing := range objects[networkingv1.Ingress](docs, false) {
		var paths []string
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				paths = append(paths, p.Path+"->"+strings.TrimPrefix(p.Backend.Service.Name, "todo-todo-app-"))
				svc := services[p.Backend.Service.Name]
				if svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == p.Backend.Service.Port.Name }) {
					t.Errorf("ingress %s path %s: no service %s with port %q", name, p.Path, p.Backend.Service.Name, p.Backend.Service.Port.Name)
				}
			}
		}
		if want := "/api/auth->frontend,/api/health->frontend,/api->backend,/->frontend"; strings.Join(paths, ",") != want {
			t.Errorf("ingress paths = %v, want %s", paths, want)
		}
		if v, ok := ing.Annotations["nginx.ingress.kubernetes.io/rewrite-target"]; ok {
			t.Errorf("ingress has rewrite-target %q: /api/tasks would reach the backend as /", v)
		}
	}
	// HPAs target existing Deployments, which then leave replicas to the HPA.
	for name, hpa := range objects[autoscalingv2.HorizontalPodAutoscaler](docs, false) {
		d := deployments[hpa.Spec.ScaleTargetRef.Name]
		if d == nil || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("hpa %s targets missing %s %s", name, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
		} else if d.Spec.Replicas != nil {
			t.Errorf("deployment %s sets replicas although HPA %s manages them", d.Name, name)
		}
	}
	// Every referenced ConfigMap and Secret key exists (an existing Secret is the user's to fill).
	existing := ""
	for _, s := range sc.sets {
		if v, ok := strings.CutPrefix(s, "secrets.existingSecret="); ok {
			existing = v
		}
	}
	if sc.name == "prod" {
		existing = "todo-app-secrets"
	}
	for _, w := range ws {
		for _, c := range w.template.Spec.Containers {
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
				case e.ValueFrom.ConfigMapKeyRef != nil:
					ref := e.ValueFrom.ConfigMapKeyRef
					if cm := configMaps[ref.Name]; cm == nil || !hasKey(cm.Data, ref.Key) {
						t.Errorf("%s env %s: no key %s in configmap %s", w.name, e.Name, ref.Key, ref.Name)
					}
				case e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					if ref.Name == existing && existing != "" {
						continue
					}
					if s := secrets[ref.Name]; s == nil || !hasKey(s.StringData, ref.Key) {
						t.Errorf("%s env %s: no key %s in secret %s", w.name, e.Name, ref.Key, ref.Name)
					}
				}
			}
		}
	}
	if existing != "" && len(secrets) > 0 {
		t.Errorf("existingSecret %s is set, yet the chart renders secrets %v", existing, slices.Collect(maps.Keys(secrets)))
	}
}

func checkPods(t *testing.T, docs []chart.Document) {
	type pod struct {
		name string
		spec corev1.PodSpec
		hook bool
	}
	var pods []pod
	for _, w := range workloads(docs) {
		pods = append(pods, pod{w.name, w.template.Spec, false})
	}
	for n, p := range objects[corev1.Pod](docs, true) {
		pods = append(pods, pod{n, p.Spec, true})
	}
	if len(pods) == 0 {
		t.Fatal("no pods rendered")
	}
	for _, p := range pods {
		// Pod Security Standard "restricted".
		ps := p.spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod %s: needs runAsNonRoot and seccomp RuntimeDefault", p.name)
		}
		if ps != nil && ps.RunAsUser != nil && *ps.RunAsUser == 0 {
			t.Errorf("pod %s runs as root", p.name)
		}
		if p.spec.AutomountServiceAccountToken == nil || *p.spec.AutomountServiceAccountToken {
			t.Errorf("pod %s mounts a service account token", p.name)
		}
		if p.spec.HostNetwork || p.spec.HostPID || p.spec.HostIPC {
			t.Errorf("pod %s uses host namespaces", p.name)
		}
		for _, v := range p.spec.Volumes {
			if v.HostPath != nil {
				t.Errorf("pod %s mounts hostPath %s", p.name, v.HostPath.Path)
			}
		}
		for _, c := range p.spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
				!slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 || (sc.Privileged != nil && *sc.Privileged) {
				t.Errorf("%s/%s: needs allowPrivilegeEscalation=false, capabilities drop ALL, not privileged", p.name, c.Name)
			}
			if sc != nil && (sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem) {
				t.Errorf("%s/%s: root filesystem is writable", p.name, c.Name)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: needs cpu and memory requests and limits", p.name, c.Name)
			}
			if !p.hook && (c.LivenessProbe == nil || c.ReadinessProbe == nil || c.StartupProbe == nil) {
				t.Errorf("%s/%s: needs liveness, readiness and startup probes", p.name, c.Name)
			}
			for _, e := range c.Env {
				for _, s := range secretValues {
					if strings.Contains(e.Value, s) {
						t.Errorf("%s/%s: env %s carries a secret value", p.name, c.Name, e.Name)
					}
				}
			}
		}
		spec, _ := json.Marshal(p.spec)
		for _, s := range secretValues {
			if strings.Contains(string(spec), s) {
				t.Errorf("pod %s: a secret value appears in the pod spec", p.name)
			}
		}
	}
}

func hasPort(t corev1.PodTemplateSpec, name string) bool {
	for _, c := range t.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name || fmt.Sprint(p.ContainerPort) == name {
				return true
			}
		}
	}
	return false
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func metaSelector(d *appsv1.Deployment) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(d.Spec.Selector)
}

// Replicas spread over nodes by a hostname topology spread constraint that
// counts one revision's pods (a rollout's new pods spread among themselves),
// soft by default so that a one-node cluster still schedules, and hard when
// asked; the zone constraint stays soft (nodes without a zone label would
// otherwise take no pod at all).
// A replica on a lost node is replaced after nodeLossTolerationSeconds, not
// Kubernetes' 300 s; a toleration of the user's own for either taint wins.
func TestNodeLossTolerations(t *testing.T) {
	const notReady, unreachable = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
	for _, tt := range []struct {
		name string
		sets []string
		want map[string]int64 // taint key -> tolerationSeconds (-1: none given)
	}{
		{"default", nil, map[string]int64{notReady: 30, unreachable: 30}},
		{"longer", []string{"backend.nodeLossTolerationSeconds=120", "frontend.nodeLossTolerationSeconds=120"},
			map[string]int64{notReady: 120, unreachable: 120}},
		{"cluster default", []string{"backend.nodeLossTolerationSeconds=null", "frontend.nodeLossTolerationSeconds=null"}, map[string]int64{}},
		{"user's own wins", []string{
			"backend.tolerations[0].key=" + unreachable, "backend.tolerations[0].operator=Exists", "backend.tolerations[0].effect=NoExecute",
			"backend.tolerations[1].key=dedicated", "backend.tolerations[1].value=todo", "backend.tolerations[1].effect=NoSchedule",
			"frontend.tolerations[0].key=" + unreachable, "frontend.tolerations[0].operator=Exists", "frontend.tolerations[0].effect=NoExecute",
			"frontend.tolerations[1].key=dedicated", "frontend.tolerations[1].value=todo", "frontend.tolerations[1].effect=NoSchedule",
		}, map[string]int64{notReady: 30, unreachable: -1, "dedicated": -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			docs := render(t, scenario{"tolerations", nil, append([]string{"secrets.existingSecret=s"}, tt.sets...)}, "v1.33.0")
			deployments := objects[appsv1.Deployment](docs, false)
			if len(deployments) != 2 {
				t.Fatalf("%d Deployments", len(deployments))
			}
			for name, d := range deployments {
				got := map[string]int64{}
				for _, tol := range d.Spec.Template.Spec.Tolerations {
					if _, twice := got[tol.Key]; twice {
						t.Errorf("%s: two tolerations for %s", name, tol.Key)
					}
					got[tol.Key] = -1
					if tol.TolerationSeconds != nil {
						got[tol.Key] = *tol.TolerationSeconds
					}
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("%s: tolerations %v, want %v", name, got, tt.want)
				}
			}
		})
	}
}

func TestSpreadOverNodes(t *testing.T) {
	for _, tt := range []struct {
		sets []string
		want corev1.UnsatisfiableConstraintAction
	}{
		{nil, corev1.ScheduleAnyway},
		{[]string{"backend.topologySpread.whenUnsatisfiable=DoNotSchedule", "frontend.topologySpread.whenUnsatisfiable=DoNotSchedule"}, corev1.DoNotSchedule},
	} {
		docs := render(t, scenario{"spread", nil, append([]string{"secrets.existingSecret=s"}, tt.sets...)}, "v1.33.0")
		deployments := objects[appsv1.Deployment](docs, false)
		if len(deployments) != 2 {
			t.Fatalf("%d Deployments", len(deployments))
		}
		for name, d := range deployments {
			byKey := map[string]corev1.TopologySpreadConstraint{}
			for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
				byKey[c.TopologyKey] = c
			}
			host, zone := byKey["kubernetes.io/hostname"], byKey["topology.kubernetes.io/zone"]
			if host.WhenUnsatisfiable != tt.want || host.MaxSkew != 1 || !slices.Equal(host.MatchLabelKeys, []string{"pod-template-hash"}) {
				t.Errorf("%s %v: hostname spread = %+v", name, tt.sets, host)
			}
			if zone.WhenUnsatisfiable != corev1.ScheduleAnyway {
				t.Errorf("%s %v: zone spread = %+v", name, tt.sets, zone)
			}
			selector, err := metav1.LabelSelectorAsSelector(host.LabelSelector)
			if err != nil || !selector.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("%s: the spread's selector %v does not match its own pods (%v)", name, host.LabelSelector, err)
			}
		}
	}
}
