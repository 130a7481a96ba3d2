package pipeline

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTags(t *testing.T) {
	tests := []struct {
		version, commit string
		want            []string
		wantErr         bool
	}{
		{"v1.2.3", "0123456789abcdef0123456789abcdef01234567", []string{"1.2.3", "0123456"}, false},
		{"1.0.0-rc.1", "", []string{"1.0.0-rc.1"}, false},
		{"", "abcdef1", []string{"abcdef1"}, false},
		{"latest", "", nil, true},
		{"v1.2", "", nil, true},
		{"", "not-a-sha", nil, true},
		{"", "", nil, true},
	}
	for _, tt := range tests {
		got, err := Tags(tt.version, tt.commit)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("Tags(%q, %q) = %v, %v; want %v (error %v)", tt.version, tt.commit, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestImageRef(t *testing.T) {
	for _, tt := range []struct{ registry, name, tag, want string }{
		{"ghcr.io/Acme/", BackendImage, "1.2.3", "ghcr.io/acme/todo-backend:1.2.3"},
		{"", FrontendImage, "ci", "todo-frontend:ci"},
		{"localhost:5000", BackendImage, "", "localhost:5000/todo-backend"},
		{"ghcr.io/acme", BackendImage, "1.0.0-RC.1", "ghcr.io/acme/todo-backend:1.0.0-RC.1"},
	} {
		if got := ImageRef(tt.registry, tt.name, tt.tag); got != tt.want {
			t.Errorf("ImageRef(%q, %q, %q) = %q, want %q", tt.registry, tt.name, tt.tag, got, tt.want)
		}
	}
	if got := ChartRepo("ghcr.io/Todo-App/"); got != "oci://ghcr.io/todo-app/charts" {
		t.Errorf("ChartRepo = %q", got)
	}
	if got := RegistryHost("https://ghcr.io/acme/x"); got != "ghcr.io" {
		t.Errorf("RegistryHost = %q", got)
	}
}

func TestThreshold(t *testing.T) {
	for in, want := range map[string]string{"CRITICAL": "CRITICAL", "high": "HIGH", " low ": "LOW"} {
		if got, err := Threshold(in); err != nil || got != want {
			t.Errorf("Threshold(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Threshold("severe"); err == nil || !strings.Contains(err.Error(), "CRITICAL") {
		t.Errorf("a bad threshold must list the valid ones: %v", err)
	}
}

func TestDeployValues(t *testing.T) {
	local := DeployValues{Tag: "ci", IngressClass: "traefik", Host: "todo.local"}.Sets()
	for _, want := range []string{"backend.image.repository=todo-backend", "frontend.image.tag=ci",
		"backend.image.pullPolicy=Never", "ingress.className=traefik", "ingress.host=todo.local"} {
		if !slices.Contains(local, want) {
			t.Errorf("k3s overrides lack %s: %v", want, local)
		}
	}
	remote := DeployValues{Registry: "localhost:5000/todo", Tag: "abc1234", IngressClass: "nginx", Host: "todo.local"}.Sets()
	if !slices.Contains(remote, "frontend.image.repository=localhost:5000/todo/todo-frontend") {
		t.Errorf("registry overrides: %v", remote)
	}
	if slices.ContainsFunc(remote, func(s string) bool { return strings.Contains(s, "pullPolicy=Never") }) {
		t.Errorf("images from a registry must be pullable: %v", remote)
	}
}

func TestSummary(t *testing.T) {
	out, err := Summary([]Result{
		{Name: "lint", Duration: 3 * time.Second},
		{Name: "test", Duration: 90 * time.Second, Output: strings.Repeat("line\n", 100) + "FAIL pkg", Err: errors.New("exit 1")},
	})
	if err == nil || !strings.HasPrefix(err.Error(), "1 of 2 failed (test):") {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"lint       ok      3s", "test       FAILED  1m30s", "--- test ---", "exit 1", "FAIL pkg", "lines above"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
		// A failed function returns no text: the error must carry all of it.
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%s", want, err)
		}
	}
	if _, err := Summary([]Result{{Name: "a"}}); err != nil {
		t.Errorf("all ok: %v", err)
	}
}

func TestChartPackageName(t *testing.T) {
	got, err := ChartPackageName("apiVersion: v2\nname: todo-app\nversion: 1.2.3\nappVersion: \"1.0.0\"\n")
	if err != nil || got != "todo-app-1.2.3.tgz" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := ChartPackageName("apiVersion: v2\n"); err == nil {
		t.Fatal("no name or version accepted")
	}
}

func TestGoCommands(t *testing.T) {
	for _, tt := range []struct{ name, got, want string }{
		{"test", GoTestCommand(), "go -C backend test -count=1 ./... && go test -count=1 ./internal/... ./cmd/..."},
		{"vet", GoVetCommand(), "go -C backend vet -tags=localstack ./... && go vet -tags=localstack ./internal/... ./cmd/..."},
	} {
		if tt.got != tt.want {
			t.Errorf("%s command =\n%s\nwant\n%s", tt.name, tt.got, tt.want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://localhost:3000", "http://localhost:3000"},
		{"http://localhost:8080/", "http://localhost:8080"},
		{" https://todo.example.com ", "https://todo.example.com"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"localhost:8080", ""},
		{"ftp://localhost", ""},
		{"http://localhost:8080/app", ""},
		{"http://localhost:0", ""},
		{"http://localhost:99999", ""},
		{"http://user:pw@localhost", ""},
		{"http://", ""},
	} {
		got, err := PublicURL(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("PublicURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRegistryRoute(t *testing.T) {
	direct, err := NewRegistryRoute("ghcr.io/Acme/", false)
	if err != nil || direct.Push != "ghcr.io/Acme" || direct.Flags() != nil {
		t.Fatalf("direct = %+v, %v", direct, err)
	}
	if got := direct.Public("ghcr.io/acme/todo-backend:1.2.3@sha256:ab"); got != "ghcr.io/acme/todo-backend:1.2.3@sha256:ab" {
		t.Errorf("direct Public = %s", got)
	}
	tunnel, err := NewRegistryRoute("localhost:5000/Self-Test", true)
	if err != nil || tunnel.Push != "registry:5000/Self-Test" || !slices.Equal(tunnel.Flags(), []string{"--plain-http"}) {
		t.Fatalf("tunnel = %+v, %v", tunnel, err)
	}
	for pushed, want := range map[string]string{
		ImageRef(tunnel.Push, BackendImage, "") + ":1.2.3@sha256:ab":    "localhost:5000/self-test/todo-backend:1.2.3@sha256:ab",
		"oci://registry:5000/self-test/charts/todo-app:0.1.0@sha256:cd": "oci://localhost:5000/self-test/charts/todo-app:0.1.0@sha256:cd",
		"somewhere.else/x:1": "somewhere.else/x:1",
	} {
		if got := tunnel.Public(pushed); got != want {
			t.Errorf("Public(%s) = %s, want %s", pushed, got, want)
		}
	}
	for public, want := range map[string]string{
		"localhost:5000/Self-Test/todo-backend@sha256:ab":  "registry:5000/Self-Test/todo-backend@sha256:ab",
		"oci://localhost:5000/self-test/charts/todo-app:1": "oci://registry:5000/Self-Test/charts/todo-app:1",
		"ghcr.io/acme/x:1": "ghcr.io/acme/x:1",
	} {
		if got := tunnel.Internal(public); got != want {
			t.Errorf("Internal(%s) = %s, want %s", public, got, want)
		}
	}
	if got := ChartRepo(tunnel.Push); got != "oci://registry:5000/self-test/charts" {
		t.Errorf("ChartRepo = %s", got)
	}
	if _, err := NewRegistryRoute("localhost/acme", true); err == nil {
		t.Error("a tunnel without a port was accepted")
	}
	if _, err := NewRegistryRoute("", false); err == nil {
		t.Error("an empty registry was accepted")
	}
}

func TestTrivyHelmFlags(t *testing.T) {
	got := strings.Join(TrivyHelmFlags("/src/helm-chart/values-prod.yaml"), " ")
	if got != "--helm-kube-version 1.33.0 --helm-values /src/helm-chart/values-prod.yaml --helm-set secrets.existingSecret=todo-app-secrets" {
		t.Errorf("TrivyHelmFlags = %s", got)
	}
	chart, err := os.ReadFile("../../internal/chart/chart.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(chart), `DefaultKubeVersion = "`+KubeVersion+`"`) {
		t.Errorf("KubeVersion %s differs from the deploy tool's DefaultKubeVersion", KubeVersion)
	}
}

func TestScanParts(t *testing.T) {
	if all, err := ScanParts(nil); err != nil || !slices.Equal(all, []string{"backend", "frontend", "config"}) {
		t.Errorf("ScanParts(nil) = %v, %v", all, err)
	}
	if got, err := ScanParts([]string{"config"}); err != nil || !slices.Equal(got, []string{"config"}) {
		t.Errorf("ScanParts(config) = %v, %v", got, err)
	}
	if _, err := ScanParts([]string{"images"}); err == nil || !strings.Contains(err.Error(), "backend, frontend, config") {
		t.Errorf("an unknown part: %v", err)
	}
}
