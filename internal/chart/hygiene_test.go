package chart_test

import (
	"cmp"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Every container, the helm test pods' included, bounds what it may write to
// the node's disk: a request and a limit of ephemeral-storage, and every
// emptyDir a size.
func TestEveryContainerBoundsEphemeralStorage(t *testing.T) {
	for _, sc := range scenarios {
		docs := render(t, sc, "v1.33.0")
		specs := map[string]corev1.PodSpec{}
		for _, w := range workloads(docs) {
			specs[w.name] = w.template.Spec
		}
		for n, p := range objects[corev1.Pod](docs, true) {
			specs[n] = p.Spec
		}
		for name, spec := range specs {
			for _, c := range spec.Containers {
				req, lim := c.Resources.Requests.StorageEphemeral(), c.Resources.Limits.StorageEphemeral()
				if req.IsZero() || lim.IsZero() || req.Cmp(*lim) > 0 {
					t.Errorf("%s: %s/%s: ephemeral-storage request %s, limit %s", sc.name, name, c.Name, req, lim)
				}
			}
			for _, v := range spec.Volumes {
				if v.EmptyDir != nil && v.EmptyDir.SizeLimit == nil {
					t.Errorf("%s: %s: emptyDir %s has no sizeLimit", sc.name, name, v.Name)
				}
			}
		}
	}
}

// Liveness answers "restart me?", readiness "send me traffic?": never the
// same check, in any long-running container.
func TestLivenessAndReadinessDiffer(t *testing.T) {
	for _, sc := range scenarios {
		for _, w := range workloads(render(t, sc, "v1.33.0")) {
			for _, c := range w.template.Spec.Containers {
				if c.LivenessProbe == nil || c.ReadinessProbe == nil {
					t.Errorf("%s: %s/%s lacks a liveness or readiness probe", sc.name, w.name, c.Name)
					continue
				}
				if reflect.DeepEqual(c.LivenessProbe.ProbeHandler, c.ReadinessProbe.ProbeHandler) {
					t.Errorf("%s: %s/%s: liveness and readiness are the same check", sc.name, w.name, c.Name)
				}
			}
		}
	}
	docs := render(t, scenarios[1], "v1.33.0") // dev: in-cluster PostgreSQL
	for name, d := range objects[appsv1.Deployment](docs, false) {
		if got := d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path; got != map[string]string{
			"todo-todo-app-backend": "/ready", "todo-todo-app-frontend": "/api/health/ready"}[name] {
			t.Errorf("%s readiness path %s", name, got)
		}
	}
	pg := objects[appsv1.StatefulSet](docs, false)["todo-todo-app-postgresql"].Spec.Template.Spec.Containers[0]
	if cmd := fmt.Sprint(pg.ReadinessProbe.Exec.Command); !regexp.MustCompile(`psql -h 127\.0\.0\.1 -U 'todo' -d 'todo' -tAc 'SELECT 1'`).MatchString(cmd) {
		t.Errorf("PostgreSQL's readiness does not run a query: %s", cmd)
	}
}

// Draining pods keep serving until load balancers have dropped them, then
// finish what is in flight: each app is told its delay and its timeout, and
// Kubernetes waits for both, and the exit, before killing it.
func TestAppsDrainBeforeTheyStop(t *testing.T) {
	for name, d := range objects[appsv1.Deployment](render(t, scenarios[0], "v1.33.0"), false) {
		spec := d.Spec.Template.Spec
		env := func(key string) string {
			i := slices.IndexFunc(spec.Containers[0].Env, func(e corev1.EnvVar) bool { return e.Name == key })
			if i < 0 {
				return ""
			}
			return spec.Containers[0].Env[i].Value
		}
		if env("SHUTDOWN_DELAY") != "10s" || env("SHUTDOWN_TIMEOUT") != "15s" {
			t.Errorf("%s: SHUTDOWN_DELAY %q, SHUTDOWN_TIMEOUT %q; want 10s and 15s", name, env("SHUTDOWN_DELAY"), env("SHUTDOWN_TIMEOUT"))
		}
		if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds < 10+15+5 {
			t.Errorf("%s: terminationGracePeriodSeconds %v leaves no time for the drain, in-flight requests and the exit", name, spec.TerminationGracePeriodSeconds)
		}
	}
}

// helm test asks every endpoint the probes ask, from inside the cluster, in
// one pod (helm runs test pods one after another).
func TestHelmTestChecksWhatTheProbesCheck(t *testing.T) {
	pods := objects[corev1.Pod](render(t, scenarios[0], "v1.33.0"), true)
	if len(pods) != 1 {
		t.Fatalf("%d test pods, want 1", len(pods))
	}
	var urls []string
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			urls = append(urls, c.Command[len(c.Command)-1])
		}
	}
	want := []string{"http://todo-todo-app-backend:8000/health", "http://todo-todo-app-backend:8000/ready",
		"http://todo-todo-app-frontend:3000/api/health", "http://todo-todo-app-frontend:3000/api/health/ready"}
	if !reflect.DeepEqual(urls, want) {
		t.Errorf("helm test fetches %v, want %v", urls, want)
	}
}

// A StatefulSet's pods get their stable names from a headless Service that
// selects exactly them; the apps keep their own client Service.
func TestPostgreSQLHasItsHeadlessService(t *testing.T) {
	docs := render(t, scenarios[1], "v1.33.0")
	sts := objects[appsv1.StatefulSet](docs, false)["todo-todo-app-postgresql"]
	services := objects[corev1.Service](docs, false)
	headless := services[sts.Spec.ServiceName]
	switch {
	case headless == nil:
		t.Fatalf("serviceName %s names no Service", sts.Spec.ServiceName)
	case headless.Spec.ClusterIP != corev1.ClusterIPNone:
		t.Errorf("Service %s is not headless (clusterIP %q)", headless.Name, headless.Spec.ClusterIP)
	case !reflect.DeepEqual(headless.Spec.Selector, sts.Spec.Selector.MatchLabels):
		t.Errorf("Service %s selects %v, the StatefulSet's pods are %v", headless.Name, headless.Spec.Selector, sts.Spec.Selector.MatchLabels)
	}
	for _, w := range workloads(docs) {
		if w.name != sts.Name && labels.SelectorFromSet(headless.Spec.Selector).Matches(labels.Set(w.template.Labels)) {
			t.Errorf("the headless Service also selects %s", w.name)
		}
	}
	if client := services["todo-todo-app-postgresql"]; client == nil || client.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Error("the apps' client Service todo-todo-app-postgresql is gone or headless")
	}
}

// endpoint is a connection's far end, as NetworkPolicies see it.
type endpoint struct {
	namespace map[string]string // labels of its namespace; nil outside the cluster
	pod       map[string]string // labels of its pod
	ip        string
	port      int
	protocol  corev1.Protocol
}

func appPod(component string, port int) endpoint {
	return endpoint{namespace: map[string]string{"kubernetes.io/metadata.name": "apps"},
		pod: map[string]string{"app.kubernetes.io/name": "todo-app", "app.kubernetes.io/instance": "todo", "app.kubernetes.io/component": component},
		ip:  "10.42.0.9", port: port, protocol: corev1.ProtocolTCP}
}

var (
	dns      = endpoint{namespace: map[string]string{"kubernetes.io/metadata.name": "kube-system"}, pod: map[string]string{"k8s-app": "kube-dns"}, ip: "10.42.0.3", port: 53, protocol: corev1.ProtocolUDP}
	backend  = appPod("backend", 8000)
	frontend = appPod("frontend", 3000)
	postgres = appPod("postgresql", 5432)
	// Outside the cluster: a model API and a managed database.
	modelAPI   = endpoint{ip: "52.1.2.3", port: 443, protocol: corev1.ProtocolTCP}
	externalDB = endpoint{ip: "52.1.2.4", port: 5432, protocol: corev1.ProtocolTCP}
)

// egressAllowed evaluates the policies for a connection from a pod with
// labels from (in the policies' namespace) to to, as Kubernetes defines it:
// allowed when no policy of type Egress selects the pod, else when a rule of
// one of them admits the peer and port.
func egressAllowed(t *testing.T, policies map[string]*networkingv1.NetworkPolicy, from map[string]string, to endpoint) bool {
	t.Helper()
	selected := false
	for _, np := range policies {
		if !matches(t, &np.Spec.PodSelector, from) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			continue
		}
		selected = true
		for _, rule := range np.Spec.Egress {
			if portAllowed(rule.Ports, to) && (len(rule.To) == 0 || slices.ContainsFunc(rule.To, func(p networkingv1.NetworkPolicyPeer) bool { return peerMatches(t, p, to) })) {
				return true
			}
		}
	}
	return !selected
}

func peerMatches(t *testing.T, p networkingv1.NetworkPolicyPeer, to endpoint) bool {
	if p.IPBlock != nil {
		prefix := netip.MustParsePrefix(p.IPBlock.CIDR)
		return to.namespace == nil && prefix.Contains(netip.MustParseAddr(to.ip))
	}
	if to.namespace == nil {
		return false
	}
	inNamespace := to.namespace["kubernetes.io/metadata.name"] == "apps"
	if p.NamespaceSelector != nil {
		inNamespace = matches(t, p.NamespaceSelector, to.namespace)
	}
	return inNamespace && (p.PodSelector == nil || matches(t, p.PodSelector, to.pod))
}

func portAllowed(ports []networkingv1.NetworkPolicyPort, to endpoint) bool {
	return len(ports) == 0 || slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		return proto == to.protocol && (p.Port == nil || p.Port.IntValue() == to.port)
	})
}

func matches(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(set))
}

// With the NetworkPolicy on, each pod reaches only what it needs: DNS, the
// other app, the database, and the backend the model API only when a key may
// be configured; PostgreSQL reaches nothing.
func TestNetworkPolicyLimitsEgress(t *testing.T) {
	key := "secrets.openaiApiKey=" + openAIKey
	inCluster := []string{"networkPolicy.enabled=true", "postgresql.enabled=true", "postgresql.auth.password=" + pgPassword}
	external := []string{"networkPolicy.enabled=true", "secrets.databaseUrl=" + dbURL}
	type conn struct {
		from endpoint
		to   endpoint
	}
	for _, tt := range []struct {
		name    string
		sets    []string
		files   []string
		allowed []conn
	}{
		{"in-cluster PostgreSQL, no key", inCluster, nil, []conn{
			{backend, dns}, {backend, frontend}, {backend, postgres},
			{frontend, dns}, {frontend, backend}, {frontend, postgres}}},
		{"in-cluster PostgreSQL, a key", append(inCluster, key), nil, []conn{
			{backend, dns}, {backend, frontend}, {backend, postgres}, {backend, modelAPI},
			{frontend, dns}, {frontend, backend}, {frontend, postgres}}},
		{"external database, a key, the offline assistant chosen", append(external, key, "backend.chat.provider=local"), nil, []conn{
			{backend, dns}, {backend, frontend}, {backend, externalDB},
			{frontend, dns}, {frontend, backend}, {frontend, externalDB}}},
		{"prod: an existing Secret, which may hold a key", nil, []string{"values-prod.yaml"}, []conn{
			{backend, dns}, {backend, frontend}, {backend, externalDB}, {backend, modelAPI},
			{frontend, dns}, {frontend, backend}, {frontend, externalDB}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			policies := objects[networkingv1.NetworkPolicy](render(t, scenario{tt.name, tt.files, tt.sets}, "v1.33.0"), false)
			if len(policies) == 0 {
				t.Fatal("no NetworkPolicy rendered")
			}
			from := []endpoint{backend, frontend}
			if slices.Contains(tt.sets, "postgresql.enabled=true") {
				from = append(from, postgres)
			}
			for _, from := range from {
				for _, to := range []endpoint{dns, backend, frontend, postgres, modelAPI, externalDB} {
					if reflect.DeepEqual(from, to) {
						continue
					}
					want := slices.ContainsFunc(tt.allowed, func(c conn) bool { return reflect.DeepEqual(c, conn{from, to}) })
					if got := egressAllowed(t, policies, from.pod, to); got != want {
						t.Errorf("%s → %s:%d: allowed %v, want %v", from.pod["app.kubernetes.io/component"],
							cmp.Or(to.pod["app.kubernetes.io/component"], to.pod["k8s-app"], to.ip), to.port, got, want)
					}
				}
			}
		})
	}
}

// The database's one pod goes where its values say, and nowhere in
// particular when they say nothing.
func TestPostgreSQLPlacement(t *testing.T) {
	for _, tt := range []struct {
		name string
		sets []string
		want corev1.PodSpec // only its placement
	}{
		{name: "anywhere"},
		{name: "placed", sets: []string{
			`postgresql.nodeSelector.kubernetes\.io/hostname=server`,
			"postgresql.tolerations[0].key=dedicated", "postgresql.tolerations[0].value=db", "postgresql.tolerations[0].effect=NoSchedule",
			"postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=disk",
			"postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In",
			"postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=ssd",
		}, want: corev1.PodSpec{
			NodeSelector: map[string]string{"kubernetes.io/hostname": "server"},
			Tolerations:  []corev1.Toleration{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}},
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := scenarios[1]
			sc.sets = append(slices.Clone(sc.sets), tt.sets...)
			spec := objects[appsv1.StatefulSet](render(t, sc, "v1.33.0"), false)["todo-todo-app-postgresql"].Spec.Template.Spec
			got := corev1.PodSpec{NodeSelector: spec.NodeSelector, Tolerations: spec.Tolerations, Affinity: spec.Affinity}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("placement %+v, want %+v", got, tt.want)
			}
		})
	}
}
