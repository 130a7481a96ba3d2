package pipeline

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
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

func TestSeveritiesFrom(t *testing.T) {
	for in, want := range map[string]string{"CRITICAL": "CRITICAL", "high": "HIGH,CRITICAL", " low ": "LOW,MEDIUM,HIGH,CRITICAL"} {
		if got, err := SeveritiesFrom(in); err != nil || got != want {
			t.Errorf("SeveritiesFrom(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := SeveritiesFrom("severe"); err == nil || !strings.Contains(err.Error(), "CRITICAL") {
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
	if err == nil || !strings.Contains(err.Error(), "test: exit 1") {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"lint       ok      3s", "test       FAILED  1m30s", "--- test ---", "FAIL pkg", "lines above"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
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

func TestGoTestCommand(t *testing.T) {
	got := GoTestCommand()
	want := "go test -count=1 $(go list ./backend/... ./internal/... ./cmd/... | grep -v '/internal/devstack$' | grep -v '/internal/proof$' | grep -v '/internal/smoke$')"
	if got != want {
		t.Fatalf("GoTestCommand =\n%s\nwant\n%s", got, want)
	}
}

// The packages left out of the pipeline's Go tests are exactly the devstack
// package and those whose tests start it.
func TestNeedsLocalStackMatchesTheRootModule(t *testing.T) {
	const root = "../.."
	const devstack = "github.com/todo-app/todo-app/internal/devstack"
	found := []string{"/internal/devstack"}
	files, err := filepath.Glob(filepath.Join(root, "*", "*", "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(root, "backend", "*", "*", "*_test.go"))
	for _, file := range append(files, more...) {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.Trim(imp.Path.Value, `"`) == devstack {
				rel, _ := filepath.Rel(root, filepath.Dir(file))
				found = append(found, "/"+filepath.ToSlash(rel))
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("found only %d test files under %s: wrong root?", len(files), root)
	}
	slices.Sort(found)
	if found = slices.Compact(found); !slices.Equal(found, NeedsLocalStack) {
		t.Fatalf("packages that start the local stack = %q, NeedsLocalStack = %q", found, NeedsLocalStack)
	}
}
