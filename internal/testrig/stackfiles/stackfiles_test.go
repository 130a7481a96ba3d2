// Package stackfiles_test checks the files that run the app outside Go:
// both Dockerfiles and compose.yaml. No container engine runs here, so these
// contracts, plus the same-flags builds of `make image-size` and the
// frontend's standalone build, stand in for building the images.
package stackfiles_test

import (
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/moby/patternmatcher"
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
	ignore := "\n" + read(t, "backend/.dockerignore") + "\n"
	for _, want := range []string{"*", "!go.mod", "!go.sum", "**/*_test.go"} {
		if !strings.Contains(ignore, "\n"+want+"\n") {
			t.Errorf("backend/.dockerignore lacks %q", want)
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
	if len(fe.Ports) != 1 || fe.Ports[0].HostIP != "127.0.0.1" || fe.Ports[0].Published != "3000" || fe.Ports[0].Target != 3000 {
		t.Errorf("frontend ports = %+v, want 127.0.0.1:3000:3000 (this machine only, unless asked)", fe.Ports)
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
		if m := regexp.MustCompile(`^(\w*(PASSWORD|SECRET|API_KEY|TOKEN)\w*):\s*(.+)$`).FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[3], "${") && !strings.HasPrefix(m[3], "*") {
			t.Errorf("secret written inline in compose.yaml: %s", l)
		}
	}
}

// A password a user may pick (a base64 secret holds / + = about half the
// time) reaches both apps intact: no secret is spliced into a URL, where
// "/" broke DATABASE_URL ("not a URL") and the stack never became healthy.
func TestComposeTakesAnyDatabasePassword(t *testing.T) {
	password := "a/b+c=d@e:f%g#h?i"
	p, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": password, "BETTER_AUTH_SECRET": strings.Repeat("0123456789abcdef", 4)})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"backend", "frontend"} {
		env := p.Services[name].Environment
		dsn := *env["DATABASE_URL"]
		if u, err := url.Parse(dsn); err != nil || u.Scheme != "postgres" || u.User == nil || u.User.Username() != "todo" {
			t.Fatalf("%s: DATABASE_URL %q is no postgres URL of user todo: %v", name, dsn, err)
		}
		if strings.Contains(dsn, password) {
			t.Errorf("%s: the password is spliced into DATABASE_URL", name)
		}
		// What pgx (backend) and node-postgres (frontend) do: PGPASSWORD stands in for a password the URL lacks.
		t.Setenv("PGPASSWORD", *env["PGPASSWORD"])
		cfg, err := pgconn.ParseConfig(dsn)
		if err != nil || cfg.Password != password || cfg.User != "todo" || cfg.Host != "postgres" {
			t.Errorf("%s: connects as %q with password %q to %q (%v), want todo with %q to postgres", name, cfg.User, cfg.Password, cfg.Host, err, password)
		}
	}
	if got := *p.Services["postgres"].Environment["POSTGRES_PASSWORD"]; got != password {
		t.Errorf("postgres gets the password %q", got)
	}
}

// The app works at the address the user opens: the published port and the
// URL the apps trust are one variable; 127.0.0.1 (the same machine) is
// trusted too; more origins can be added; the port stays on this machine
// unless BIND_ADDRESS opens it.
func TestComposeServesWhereTheUserOpensIt(t *testing.T) {
	secrets := map[string]string{"POSTGRES_PASSWORD": "pw", "BETTER_AUTH_SECRET": strings.Repeat("s", 32)}
	for _, tt := range []struct {
		env             map[string]string
		bind, port, url string
		trusted         []string
	}{
		{nil, "127.0.0.1", "3000", "http://localhost:3000", []string{"http://127.0.0.1:3000"}},
		{map[string]string{"APP_PORT": "8080", "APP_HOST": "todo.lan", "BIND_ADDRESS": "0.0.0.0", "EXTRA_TRUSTED_ORIGINS": "http://192.168.1.20:8080"},
			"0.0.0.0", "8080", "http://todo.lan:8080", []string{"http://127.0.0.1:8080", "http://192.168.1.20:8080"}},
	} {
		p, err := loadCompose(t, maps.Collect(func(yield func(string, string) bool) {
			for k, v := range secrets {
				yield(k, v)
			}
			for k, v := range tt.env {
				yield(k, v)
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		fe, be := p.Services["frontend"], p.Services["backend"]
		if got := fe.Ports[0]; got.HostIP != tt.bind || got.Published != tt.port {
			t.Errorf("%v: published on %s:%s, want %s:%s", tt.env, got.HostIP, got.Published, tt.bind, tt.port)
		}
		for name, value := range map[string]string{"frontend BETTER_AUTH_URL": *fe.Environment["BETTER_AUTH_URL"],
			"backend AUTH_ISSUER": *be.Environment["AUTH_ISSUER"], "backend AUTH_AUDIENCE": *be.Environment["AUTH_AUDIENCE"]} {
			if value != tt.url {
				t.Errorf("%v: %s = %q, want %q", tt.env, name, value, tt.url)
			}
		}
		var trusted []string
		for _, o := range strings.Split(*fe.Environment["TRUSTED_ORIGINS"], ",") {
			if o = strings.TrimSpace(o); o != "" {
				trusted = append(trusted, o)
			}
		}
		if !slices.Equal(trusted, tt.trusted) {
			t.Errorf("%v: TRUSTED_ORIGINS %v, want %v", tt.env, trusted, tt.trusted)
		}
	}
}

// Health checks: PostgreSQL is healthy only once it takes TCP connections
// with the app's credentials (pg_isready passed on initdb's socket-only
// server); the apps' start periods cover their start-up retries, else a
// backend still waiting for its database is marked unhealthy and the
// frontend stays in Created.
func TestComposeHealthChecks(t *testing.T) {
	p, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": "pw", "BETTER_AUTH_SECRET": strings.Repeat("s", 32)})
	if err != nil {
		t.Fatal(err)
	}
	pg := strings.Join(p.Services["postgres"].HealthCheck.Test, " ")
	for _, want := range []string{"psql", "-h 127.0.0.1", "-U todo", "-d todo", `PGPASSWORD="$POSTGRES_PASSWORD"`} {
		if !strings.Contains(pg, want) {
			t.Errorf("the postgres health check %q lacks %s", pg, want)
		}
	}
	if strings.Contains(pg, "pg_isready") {
		t.Errorf("the postgres health check %q uses pg_isready, which passes on initdb's socket-only server", pg)
	}
	for _, name := range []string{"backend", "frontend"} {
		svc := p.Services[name]
		timeout, err := time.ParseDuration(*svc.Environment["DATABASE_START_TIMEOUT"])
		if err != nil {
			t.Fatalf("%s: DATABASE_START_TIMEOUT: %v", name, err)
		}
		if svc.HealthCheck.StartPeriod == nil || time.Duration(*svc.HealthCheck.StartPeriod) <= timeout {
			t.Errorf("%s: start_period %v, want more than DATABASE_START_TIMEOUT %s", name, svc.HealthCheck.StartPeriod, timeout)
		}
	}
	if p.Services["postgres"].HealthCheck.StartPeriod == nil {
		t.Error("postgres: no start_period (initdb of a new volume takes a while)")
	}
}

// Missing or empty secrets stop compose with what to do: .env.example as
// copied, unfilled, must not start (its placeholders passed every check).
func TestComposeRequiresSecrets(t *testing.T) {
	if _, err := loadCompose(t, map[string]string{"POSTGRES_PASSWORD": "x"}); err == nil || !strings.Contains(err.Error(), "BETTER_AUTH_SECRET") {
		t.Fatalf("compose.yaml loaded without BETTER_AUTH_SECRET: %v", err)
	}
	example := map[string]string{}
	for _, line := range strings.Split(read(t, ".env.example"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			example[k] = v
		}
	}
	_, err := loadCompose(t, example)
	if err == nil || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Fatalf(".env.example copied as it is: %v, want compose to refuse it and say how to make a secret", err)
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

// The backend's build context (backend/, filtered by its .dockerignore) holds
// every file the server's build reads: the module files and each source and
// embedded file of its packages; and no test file.
func TestBackendContextBuildsTheServer(t *testing.T) {
	var patterns []string
	for line := range strings.Lines(read(t, "backend/.dockerignore")) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := filepath.Abs(filepath.Join(root, "backend"))
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]bool{}
	err = filepath.WalkDir(backend, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(backend, p)
		if excluded, _ := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); !excluded {
			sent[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/todo-app/todo-app/backend"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./cmd/server")
	list.Dir, list.Env = backend, append(os.Environ(), "GOWORK=off")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, file := range strings.Fields(string(out)) {
		rel, _ := filepath.Rel(backend, file)
		needed = append(needed, filepath.ToSlash(rel))
	}
	if len(needed) < 20 {
		t.Fatalf("the server's build reads only %d files of its module: %q", len(needed), needed)
	}
	for _, file := range needed {
		if !sent[file] {
			t.Errorf("the server's build reads backend/%s, which backend/.dockerignore leaves out", file)
		}
	}
	for file := range sent {
		if strings.HasSuffix(file, "_test.go") {
			t.Errorf("backend/.dockerignore sends the test file backend/%s", file)
		}
	}
}
