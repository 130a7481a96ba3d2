// Package stackfiles_test checks the files that run the app outside Go:
// both Dockerfiles and compose.yaml. No container engine runs here, so these
// contracts, plus the same-flags builds of `make image-size` and the
// frontend's standalone build, stand in for building the images.
package stackfiles_test

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const root = "../../.."

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\\\n", " ") // join continued lines
}

// stages splits a Dockerfile into its build stages, keyed by name.
func stages(df string) map[string]string {
	out := map[string]string{}
	parts := regexp.MustCompile(`(?m)^FROM `).Split(df, -1)
	for _, p := range parts[1:] {
		first, _, _ := strings.Cut(p, "\n")
		name := first
		if i := strings.LastIndex(first, " AS "); i >= 0 {
			name = first[i+4:]
		}
		out[strings.TrimSpace(name)] = "FROM " + p
	}
	return out
}

func requireAll(t *testing.T, what, text string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(text) {
			t.Errorf("%s lacks %s", what, p)
		}
	}
}

func TestBackendDockerfile(t *testing.T) {
	df := read(t, "backend/Dockerfile")
	st := stages(df)
	if len(st) != 2 || st["build"] == "" {
		t.Fatalf("want stages build + runtime, got %v", slices.Sorted(maps.Keys(st)))
	}
	requireAll(t, "backend/Dockerfile", df,
		`(?m)^ARG GO_IMAGE=golang:1\.26-alpine$`,
		`--mount=type=cache,target=/go/pkg/mod`,
		`--mount=type=cache,target=/root/.cache/go-build`,
		`CGO_ENABLED=0`,
		`-X main\.version=\$\{VERSION\} -X main\.commit=\$\{COMMIT\}`,
		`(?m)^USER 1000:1000$`,
		`(?m)^EXPOSE 8000$`,
		`(?m)^HEALTHCHECK .*CMD \["/server", "healthcheck"\]$`,
		`(?m)^ENTRYPOINT \["/server"\]$`)
	ignore := "\n" + read(t, ".dockerignore") + "\n"
	for _, want := range []string{"*", "!go.mod", "!go.sum", "!backend/"} {
		if !strings.Contains(ignore, "\n"+want+"\n") {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
}

func TestFrontendDockerfile(t *testing.T) {
	df := read(t, "frontend/Dockerfile")
	st := stages(df)
	for _, name := range []string{"deps", "build", "runner"} {
		if st[name] == "" {
			t.Fatalf("no %q stage", name)
		}
	}
	requireAll(t, "frontend/Dockerfile", df,
		`(?m)^ARG NODE_IMAGE=node:24-alpine$`,
		`--mount=type=cache,target=/root/\.npm`,
		`--mount=type=cache,target=/app/\.next/cache`)
	runner := st["runner"]
	requireAll(t, "the runner stage", runner,
		`echo 'nextjs:x:1001:1001:[^']*' >> /etc/passwd`,
		`(?m)^USER nextjs$`,
		`(?m)^EXPOSE 3000$`,
		`(?m)^HEALTHCHECK .*/api/health`,
		`COPY --from=build --chown=1001:1001 /app/\.next/standalone`)
	instructions := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(runner, "")
	// adduser and addgroup date the change in /etc/shadow: a rebuild on another day would differ.
	for _, banned := range []string{"g++", "make", "python3", "curl", "wget", "adduser", "addgroup", "useradd"} {
		if strings.Contains(instructions, banned) {
			t.Errorf("the runner stage mentions %q: no toolchain or curl in the final image", banned)
		}
	}
	ignore := read(t, "frontend/.dockerignore")
	for _, want := range []string{"node_modules", ".next", "tests", ".env*"} {
		if !slices.Contains(strings.Fields(ignore), want) {
			t.Errorf("frontend/.dockerignore lacks %q", want)
		}
	}
}

func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithEnv(pairs), cli.WithName("todo-app"), cli.WithWorkingDirectory(root))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(t.Context())
}

func TestComposeFile(t *testing.T) {
	secrets := map[string]string{"POSTGRES_PASSWORD": "pw-from-env", "BETTER_AUTH_SECRET": "secret-from-env-0123456789abcdef"}
	p, err := loadCompose(t, secrets)
	if err != nil {
		t.Fatalf("compose.yaml does not load: %v", err)
	}
	if got := strings.Join(p.ServiceNames(), ","); got != "backend,frontend,postgres" {
		t.Fatalf("services = %s", got)
	}
	for name, svc := range p.Services {
		if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 {
			t.Errorf("service %s has no health check", name)
		}
		if _, ok := svc.Networks["todo"]; !ok {
			t.Errorf("service %s is not on the todo network", name)
		}
		for dep, d := range svc.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s without condition: service_healthy", name, dep)
			}
		}
	}
	if p.Networks["todo"].Driver != "bridge" {
		t.Errorf("network todo driver = %q, want bridge", p.Networks["todo"].Driver)
	}
	if pg := p.Services["postgres"]; len(pg.Volumes) != 1 || pg.Volumes[0].Type != types.VolumeTypeVolume || pg.Volumes[0].Source != "pgdata" {
		t.Errorf("postgres must keep its data in the named volume pgdata: %+v", pg.Volumes)
	}
	fe := p.Services["frontend"]
	if len(fe.Ports) != 1 || fe.Ports[0].Published != "3000" || fe.Ports[0].Target != 3000 {
		t.Errorf("frontend ports = %+v, want 3000:3000", fe.Ports)
	}
	if deps := slices.Sorted(maps.Keys(fe.DependsOn)); !slices.Equal(deps, []string{"backend", "postgres"}) {
		t.Errorf("frontend depends on %v", deps)
	}
	if *fe.Environment["BACKEND_URL"] != "http://backend:8000" || *p.Services["backend"].Environment["AUTH_JWKS_URL"] != "http://frontend:3000/api/auth/jwks" {
		t.Error("backend and frontend are not wired to each other by service name")
	}
	// Secret values reach the services only from the environment (.env).
	if *fe.Environment["BETTER_AUTH_SECRET"] != secrets["BETTER_AUTH_SECRET"] {
		t.Errorf("BETTER_AUTH_SECRET not taken from the environment")
	}
	raw := read(t, "compose.yaml")
	for _, line := range strings.Split(raw, "\n") {
		l := strings.TrimSpace(line)
		if m := regexp.MustCompile(`^(\w*(PASSWORD|SECRET|API_KEY|TOKEN)\w*):\s*(.+)$`).FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[3], "${") {
			t.Errorf("secret written inline in compose.yaml: %s", l)
		}
		if strings.Contains(l, "postgres://") && !strings.Contains(l, "${POSTGRES_PASSWORD}") {
			t.Errorf("database URL with an inline password: %s", l)
		}
	}
}

func TestComposeRequiresSecrets(t *testing.T) {
	if _, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": "x"}); err == nil || !strings.Contains(err.Error(), "BETTER_AUTH_SECRET") {
		t.Fatalf("compose.yaml loaded without BETTER_AUTH_SECRET: %v", err)
	}
}

func TestEnvExampleCoversComposeVariables(t *testing.T) {
	example := read(t, ".env.example")
	compose := read(t, "compose.yaml")
	for _, m := range regexp.MustCompile(`\$\{(\w+)`).FindAllStringSubmatch(compose, -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=`).MatchString(example) {
			t.Errorf(".env.example does not mention %s", m[1])
		}
	}
	if ignore := read(t, ".gitignore"); !regexp.MustCompile(`(?m)^\.env$`).MatchString(ignore) {
		t.Error(".env is not git-ignored")
	}
}
