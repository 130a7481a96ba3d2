package chart_test

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/todo-app/todo-app/internal/chart"
)

func TestSchemaRejectsBadValues(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"secrets.existingSecret=s"}
	tests := []struct {
		set, want string
	}{
		{"backend.replicaCount=0", "replicaCount"},
		{"backend.replicaCount=two", "replicaCount"},
		{"backend.port=70000", "port"},
		{"backend.image.pullPolicy=Sometimes", "pullPolicy"},
		{"backend.image.digest=sha256:abc", "digest"},
		{"frontend.image.digest=" + strings.Repeat("a", 64), "digest"},
		{"backend.image.repository=Not A Repo", "repository"},
		{"backend.image.repository=Acme/todo-backend", "repository"},
		{"frontend.image.repository=ghcr.io/Acme/todo-frontend", "repository"},
		{"frontend.image.repository=ghcr.io/acme/todo-frontend:1.0", "repository"},
		{"frontend.image.repository=localhost:5000:1/todo", "repository"},
		{"frontend.autoscaling.enabled=maybe", "enabled"},
		{"frontend.autoscaling.targetCPUUtilizationPercentage=150", "targetCPUUtilizationPercentage"},
		{"backend.resources.limits.memory=lots", "memory"},
		{"backend.securityContext.allowPrivilegeEscalation=true", "allowPrivilegeEscalation"},
		{"frontend.podSecurityContext.runAsNonRoot=false", "runAsNonRoot"},
		{"backend.chat.provider=gemini", "provider"},
		{"logLevel=loud", "logLevel"},
		{"environment=moon", "environment"},
		{"ingress.host=Not_A_Host", "host"},
		{"secrets.betterAuthSecret=short", "betterAuthSecret"},
		{"secrets.databaseUrl=mysql://x", "databaseUrl"},
		{"publicURL=todo.example.com", "publicURL"},
		{"backend.probes.readiness.path=ready", "path"},
		{"misspelledTopLevel=1", "misspelledTopLevel"},
		{"backend.replicas=3", "replicas"},
		{"frontend.resources.limits.ephemeral-storage=plenty", "ephemeral-storage"},
		{"postgresql.resources.requests.disk=1Gi", "disk"},
		{"tests.resources.limits.cpu=-1", "cpu"},
		{"backend.shutdownDelaySeconds=-1", "shutdownDelaySeconds"},
		{"frontend.terminationGracePeriodSeconds=0", "terminationGracePeriodSeconds"},
		{"backend.shutdownTimeoutSeconds=0", "shutdownTimeoutSeconds"},
		{"networkPolicy.egress.database.cidrs[0]=everywhere", "cidrs"},
		{"networkPolicy.egress.modelAPI.ports[0]=0", "ports"},
		{"networkPolicy.egress.dns.ports=null", "ports"},
		{"backend.topologySpread.whenUnsatisfiable=Maybe", "whenUnsatisfiable"},
		{"frontend.topologySpread.maxSkew=0", "maxSkew"},
		{"backend.nodeLossTolerationSeconds=-1", "nodeLossTolerationSeconds"},
		{"frontend.nodeLossTolerationSeconds=soon", "nodeLossTolerationSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			vals, err := chart.Values(nil, append(base, tt.set))
			if err != nil {
				t.Fatal(err)
			}
			_, err = chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
			if err == nil {
				t.Fatalf("values %s accepted", tt.set)
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error does not point at %s:\n%v", tt.want, err)
			}
		})
	}
}

// Image repositories are Docker references without tag: with or without a
// registry host, which may have a port.
func TestSchemaAcceptsImageRepositories(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{
		"todo-backend", "library/postgres", "ghcr.io/acme/todo-backend", "localhost:5000/todo/todo-backend",
		"localhost/todo-backend", "registry:5000/todo-backend", "registry.example.com:443/a/b__c/d-e.f",
	} {
		vals, err := chart.Values(nil, []string{"secrets.existingSecret=s", "backend.image.repository=" + repo})
		if err != nil {
			t.Fatal(err)
		}
		out, err := chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
		if err != nil {
			t.Errorf("repository %s refused: %v", repo, err)
		} else if !strings.Contains(out.Manifest, "image: "+repo+":") {
			t.Errorf("repository %s not rendered as the backend's image", repo)
		}
	}
}

// A digest pins the image: what publish signed is what runs.
func TestImageDigestPinsTheImage(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	vals := scenario{files: []string{"values-prod.yaml"}, sets: []string{"backend.image.tag=1.2.3", "backend.image.digest=" + digest}}.values(t)
	rel, err := chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rel.Manifest, "image: todo-backend:1.2.3@"+digest+"\n") {
		t.Error("the backend's image is not pinned by its digest")
	}
	if !strings.Contains(rel.Manifest, "image: todo-frontend:"+ch.Metadata.AppVersion+"\n") {
		t.Error("the frontend, without a digest, lost its tag")
	}
}

func TestRequiredValuesFailClearly(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"secrets.databaseUrl is required": {"secrets.betterAuthSecret=" + authSecret},
		// The delay alone fits, the shutdown after it does not: the kubelet would kill the backend mid-shutdown.
		"backend.terminationGracePeriodSeconds (25) must be at least backend.shutdownDelaySeconds (20) + backend.shutdownTimeoutSeconds (15) + 5 s to exit = 40": {
			"secrets.databaseUrl=postgres://x", "backend.shutdownDelaySeconds=20", "backend.terminationGracePeriodSeconds=25"},
		"frontend.terminationGracePeriodSeconds (30) must be at least frontend.shutdownDelaySeconds (10) + frontend.shutdownTimeoutSeconds (20) + 5 s to exit = 35": {
			"secrets.databaseUrl=postgres://x", "frontend.shutdownTimeoutSeconds=20"},
	}
	for want, sets := range tests {
		vals, _ := chart.Values(nil, sets)
		_, err := chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("values %v: error %v, want one saying %q", sets, err, want)
		}
	}
}

func TestLintStrict(t *testing.T) {
	for _, sc := range scenarios[:3] { // default, dev, prod
		t.Run(sc.name, func(t *testing.T) {
			vals := sc.values(t)
			lint := action.NewLint()
			lint.Strict = true
			lint.KubeVersion = nil
			res := lint.Run([]string{chartDir}, vals)
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %s", m)
				}
			}
			for _, err := range res.Errors {
				t.Errorf("helm lint error: %v", err)
			}
		})
	}
}
