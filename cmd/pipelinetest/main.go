// Command pipelinetest is the Dagger module's self-test. It calls the
// module's functions through the dagger CLI, as a user would, on whatever
// engine dagger reaches, and checks what each returns, not only its exit
// status. It prints a line per function with its time, then a count.
//
//	go run ./cmd/pipelinetest [-cluster [-proofs a,b]] [-only lint,sbom] [-out DIR] [-- constructor flags]
//
// Without -cluster it runs every function that needs no Kubernetes. With
// -cluster it also runs the deploy half, which needs an engine that can run
// k3s: deploy to an ephemeral cluster, deploy --kubeconfig to a standing one
// (the module's cluster, served as a user serves kind), prove on one node (the
// six proofs check runs, or -proofs) and prove-nodes (node-drain on a server
// and two agents), each proof's figures checked against its goal.
//
// Constructor flags go to every call, e.g. tag-only images for an engine that
// cannot resolve digests: -- --trivy-image=aquasec/trivy:0.67.2.
//
// publish pushes to a registry this program serves on 127.0.0.1, which the
// engine's containers reach through the CLI's tunnel (--registry-service
// tcp://…): that holds on every engine, a Docker-run one included. It asks
// for a user and password, which publish, verify and reproduce get once,
// through with-registry-auth; verify without them must be refused. The pushed
// images are pulled back here by digest and run with `dagger core container
// import`; the chart is pulled back and compared.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/images"
	"github.com/todo-app/todo-app/internal/smoke"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
	"github.com/todo-app/todo-app/internal/testrig/pipelinetest"
)

// Stamped into the images and checked in what comes back.
const version = "0.0.0-selftest"

type selftest struct {
	dagger      string
	constructor []string
	out         string
	commit      string

	// The commit's time: what every time in a release is.
	epoch int64
	// release.json of the release built here, which publish must match.
	release *pipelinetest.Release

	// Registries served here: registry for the clusters, publishRegistry
	// for publish, verify and reproduce in turn, which asks for credentials.
	registry        string
	publishRegistry *publishRegistry
	keys            map[string]string // key pair folders by name: signer, other
	refs            []string          // what publish returned

	proofs []string // prove's --proofs; all when empty
}

type check struct {
	name string
	run  func(ctx context.Context) (string, error)
}

func main() {
	t := selftest{}
	var only, proofs string
	var cluster, prune bool
	flag.StringVar(&t.dagger, "dagger", "dagger", "the dagger CLI")
	flag.StringVar(&only, "only", "", "comma-separated checks to run (default all)")
	flag.BoolVar(&cluster, "cluster", false, "also run the deploy half: deploy, existing-cluster, prove, prove-nodes (needs an engine that runs k3s)")
	flag.StringVar(&proofs, "proofs", "", "comma-separated proofs for prove (default all six)")
	flag.BoolVar(&prune, "prune", false, "last, build the release again from another clone after emptying the engine's cache (dagger core engine local-cache prune), and compare it byte for byte")
	flag.StringVar(&t.out, "out", "", "folder for what the functions return and the calls' logs (default: a temporary one)")
	flag.Parse()
	t.constructor = flag.Args()
	if proofs != "" {
		t.proofs = strings.Split(proofs, ",")
	}
	ctx := context.Background()

	var err error
	if t.out == "" {
		if t.out, err = os.MkdirTemp("", "pipelinetest-"); err != nil {
			fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(t.out, "logs"), 0o755); err != nil {
		fatal(err)
	}
	if t.commit, t.epoch, err = gitCommit(); err != nil {
		fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	t.registry = ln.Addr().String()
	if t.publishRegistry, err = servePublishRegistry(); err != nil {
		fatal(err)
	}
	defer t.publishRegistry.close()
	checks := t.checks()
	if cluster {
		checks = append(checks, t.clusterChecks()...)
	}
	if prune { // last: every later build would be cold
		checks = append(checks, check{"reproducible", t.reproducible})
	}
	if only != "" {
		names := strings.Split(only, ",")
		for _, n := range names {
			if !slices.ContainsFunc(checks, func(c check) bool { return c.name == n }) {
				fatal(fmt.Errorf("-only: no check %q", n))
			}
		}
		checks = slices.DeleteFunc(checks, func(c check) bool { return !slices.Contains(names, c.name) })
	}

	fmt.Printf("pipeline self-test: %d checks, outputs and logs in %s\n", len(checks), t.out)
	passed, failed := 0, 0
	start := time.Now()
	for _, c := range checks {
		began := time.Now()
		detail, err := c.run(ctx)
		took := time.Since(began).Seconds()
		if err != nil {
			failed++
			fmt.Printf("%-16s FAIL %7.1fs  %s\n", c.name, took, indent(err.Error()))
			continue
		}
		passed++
		fmt.Printf("%-16s ok   %7.1fs  %s\n", c.name, took, detail)
	}
	fmt.Printf("total %.0fs\npipeline: %d passed, %d failed\n", time.Since(start).Seconds(), passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func (t *selftest) checks() []check {
	return []check{
		{"lint", t.lint},
		{"test", t.test},
		{"end-to-end", t.endToEnd},
		{"chart", t.chart},
		{"release", t.buildRelease},
		{"sbom", t.sbom},
		{"manifests", t.manifests},
		{"backend-image", t.backendImage},
		{"frontend-image", t.frontendImage},
		{"serve", t.serve},
		{"signing-key", t.signingKey},
		{"publish", t.publish},
		{"verify", t.verify},
		{"reproduce", t.reproduce},
		{"scan", t.scan},
		{"scan-gate", t.scanGate},
	}
}

func (t *selftest) clusterChecks() []check {
	return []check{
		{"deploy", t.deploy},
		{"existing-cluster", t.existingCluster},
		{"prove", t.prove},
		{"prove-nodes", t.proveNodes},
	}
}

// call runs `dagger call [constructor flags] args…` and returns its stdout;
// its progress goes to logs/<log>.log, whose end an error quotes.
func (t *selftest) call(ctx context.Context, log string, args ...string) (string, error) {
	return t.callIn(ctx, "", log, args...)
}

// callIn is call with the module of another checkout (dir).
func (t *selftest) callIn(ctx context.Context, dir, log string, args ...string) (string, error) {
	return t.runIn(ctx, dir, log, append(append([]string{"call"}, t.constructor...), args...)...)
}

func (t *selftest) run(ctx context.Context, log string, args ...string) (string, error) {
	return t.runIn(ctx, "", log, args...)
}

func (t *selftest) runIn(ctx context.Context, dir, log string, args ...string) (string, error) {
	logFile := filepath.Join(t.out, "logs", log+".log")
	f, err := os.Create(logFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, t.dagger, append([]string{"--progress=plain"}, args...)...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = &stdout, f, dir
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("dagger %s: %w\n%s", strings.Join(args, " "), err, tail(logFile, 25))
	}
	return stdout.String(), nil
}

// summaryOK checks a runAll summary: each part listed as ok.
func summaryOK(out string, parts ...string) (string, error) {
	for _, p := range parts {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(p) + `\s+ok\s`).MatchString(out) {
			return "", fmt.Errorf("the summary does not list %q as ok:\n%s", p, out)
		}
	}
	return strings.Join(parts, ", ") + " ok", nil
}

func (t *selftest) lint(ctx context.Context) (string, error) {
	out, err := t.call(ctx, "lint", "lint")
	if err != nil {
		return "", err
	}
	return summaryOK(out, "go vet, chart", "eslint", "tsc", "actionlint")
}

func (t *selftest) test(ctx context.Context) (string, error) {
	out, err := t.call(ctx, "test", "test")
	if err != nil {
		return "", err
	}
	return summaryOK(out, "go", "frontend")
}

func (t *selftest) endToEnd(ctx context.Context) (string, error) {
	dir := filepath.Join(t.out, "end-to-end")
	if _, err := t.call(ctx, "end-to-end", "end-to-end", "-o", dir); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "playwright-report", "index.html")); err != nil {
		return "", fmt.Errorf("no HTML report exported: %w", err)
	}
	shots, _ := filepath.Glob(filepath.Join(dir, "test-results", "*", "*.png"))
	more, _ := filepath.Glob(filepath.Join(dir, "test-results", "*.png"))
	return fmt.Sprintf("report exported, %d screenshots", len(shots)+len(more)), nil
}

// sbom asks for the release's SBOMs alone, with its version: they must name
// what each image holds and be the release's sbom/ files byte for byte.
func (t *selftest) sbom(ctx context.Context) (string, error) {
	if t.release == nil {
		return "", errors.New("release did not run")
	}
	dir := filepath.Join(t.out, "sbom")
	if _, err := t.call(ctx, "sbom", "sbom", "--version="+version, "-o", dir); err != nil {
		return "", err
	}
	var counts []string
	for file, want := range map[string]string{"backend.cdx.json": "github.com/jackc/pgx", "frontend.cdx.json": "next"} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return "", err
		}
		n, err := pipelinetest.SBOM(b, want)
		if err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		released, err := os.ReadFile(filepath.Join(t.out, "release", "sbom", "todo-"+file))
		if err != nil {
			return "", err
		}
		if !bytes.Equal(b, released) {
			return "", fmt.Errorf("%s differs from the release's sbom/todo-%s", file, file)
		}
		counts = append(counts, fmt.Sprintf("%s %d components", file, n))
	}
	slices.Sort(counts)
	return strings.Join(counts, ", ") + "; the release's own", nil
}

func (t *selftest) chart(ctx context.Context) (string, error) {
	dir := filepath.Join(t.out, "chart")
	if err := os.MkdirAll(dir, 0o755); err != nil { // -o into a folder only when it exists
		return "", err
	}
	if _, err := t.call(ctx, "chart", "chart", "-o", dir+"/"); err != nil {
		return "", err
	}
	pkgs, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(pkgs) != 1 {
		return "", fmt.Errorf("exported %v, want one .tgz", pkgs)
	}
	vals, err := chart.Values([]string{"helm-chart/values-dev.yaml"}, []string{
		"secrets.betterAuthSecret=" + strings.Repeat("x", 32), "postgresql.auth.password=selftest"})
	if err != nil {
		return "", err
	}
	if err := pipelinetest.LintChart(pkgs[0], vals); err != nil {
		return "", err
	}
	return filepath.Base(pkgs[0]) + " passes helm lint --strict", nil
}

func (t *selftest) manifests(ctx context.Context) (string, error) {
	var details []string
	for _, env := range []string{"dev", "prod"} {
		file := filepath.Join(t.out, env+".yaml")
		if _, err := t.call(ctx, "manifests-"+env, "manifests", "--env="+env, "-o", file); err != nil {
			return "", err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		summary, err := pipelinetest.CheckManifests(string(b))
		if err != nil {
			return "", fmt.Errorf("%s: %w", env, err)
		}
		details = append(details, env+": "+summary)
	}
	return strings.Join(details, "; "), nil
}

// labels are what both images must carry for this self-test's build.
func (t *selftest) labels(title string) map[string]string {
	return map[string]string{"org.opencontainers.image.title": title,
		"org.opencontainers.image.version": version, "org.opencontainers.image.revision": t.commit}
}

// image exports an image and checks its configuration, then runs a command in
// it. Its health check is checked where users get it, in publish: Dagger
// v0.19.10's builds drop HEALTHCHECK (dagger/dagger#9515), and publish restores it.
func (t *selftest) image(ctx context.Context, fn, title string, run []string, want string) (string, error) {
	build := []string{fn, "--version=" + version, "--commit=" + t.commit}
	tarball := filepath.Join(t.out, fn+".tar")
	if _, err := t.call(ctx, fn+"-export", append(build, "export", "--path="+tarball)...); err != nil {
		return "", err
	}
	cfg, err := pipelinetest.ReadImageConfig(tarball)
	if err != nil {
		return "", err
	}
	if err := pipelinetest.CheckImage(cfg, t.labels(title)); err != nil {
		return "", err
	}
	out, err := t.call(ctx, fn+"-run", append(build, "with-exec", "--args="+strings.Join(run, ","), "stdout")...)
	if err != nil {
		return "", err
	}
	if !strings.Contains(out, want) {
		return "", fmt.Errorf("%s printed %q, want %q in it", strings.Join(run, " "), out, want)
	}
	return fmt.Sprintf("user %s, labels set; %s: %s", cfg.User, strings.Join(run, " "), strings.TrimSpace(out)), nil
}

func (t *selftest) backendImage(ctx context.Context) (string, error) {
	return t.image(ctx, "backend-image", "todo-backend", []string{"/server", "version"}, version)
}

func (t *selftest) frontendImage(ctx context.Context) (string, error) {
	return t.image(ctx, "frontend-image", "todo-frontend", []string{"ls", "/app/server.js"}, "/app/server.js")
}

// serve serves the stack on a free port of this machine, as a user would,
// and runs the repository's smoke test through it.
func (t *selftest) serve(ctx context.Context) (string, error) {
	port, err := devstack.FreePort()
	if err != nil {
		return "", err
	}
	url := fmt.Sprintf("http://localhost:%d", port)
	serve, err := t.background("serve", "serve", "--url="+url, "up", fmt.Sprintf("--ports=%d:3000", port))
	if err != nil {
		return "", err
	}
	defer serve.stop()
	logFile := serve.log.Name()
	// The first serve builds both images: allow for it.
	deadline := time.Now().Add(15 * time.Minute)
	for {
		if resp, err := http.Get(url + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-serve.done:
			return "", fmt.Errorf("dagger call serve … up exited: %v\n%s", serve.err, tail(logFile, 25))
		case <-time.After(2 * time.Second):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s/api/health did not answer 200 in 15 min\n%s", url, tail(logFile, 25))
		}
	}
	report := smoke.Run(ctx, url, smoke.Options{Reachable: 2 * time.Minute})
	if err := report.Err(); err != nil {
		return "", fmt.Errorf("smoke test through %s:\n%s", url, report)
	}
	return fmt.Sprintf("served on %s; smoke test: %d steps passed", url, len(report.Steps)), nil
}

// signingKey makes two key pairs: one to sign with, one that signed nothing.
func (t *selftest) signingKey(ctx context.Context) (string, error) {
	os.Setenv("SELFTEST_COSIGN_PASSWORD", rand.Text())
	t.keys = map[string]string{}
	for _, name := range []string{"signer", "other"} {
		dir := filepath.Join(t.out, "keys-"+name)
		if _, err := t.call(ctx, "signing-key-"+name, "signing-key", "--password=env://SELFTEST_COSIGN_PASSWORD", "-o", dir); err != nil {
			return "", err
		}
		for _, f := range []string{"cosign.key", "cosign.pub"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !bytes.Contains(b, []byte("-----BEGIN ")) {
				return "", fmt.Errorf("%s/%s is no PEM key: %v", dir, f, err)
			}
		}
		t.keys[name] = dir
	}
	return "two key pairs (cosign.key encrypted, cosign.pub)", nil
}

// publishRegistry is the registry served here that publish pushes to: it
// asks for a user and password (pipelinetest.AuthRegistry), which the
// module's calls give once, with with-registry-auth.
type publishRegistry struct {
	host string
	auth *pipelinetest.AuthRegistry
	srv  *http.Server
}

// publishPasswordEnv holds the publish registry's password for the dagger CLI (--secret=env://…).
const publishPasswordEnv = "SELFTEST_REGISTRY_PASSWORD"

func servePublishRegistry() (*publishRegistry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	password := rand.Text()
	os.Setenv(publishPasswordEnv, password)
	r := &publishRegistry{host: ln.Addr().String(), auth: &pipelinetest.AuthRegistry{
		Next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), Username: "selftest", Password: password}}
	r.srv = &http.Server{Handler: r.auth, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *publishRegistry) close() { r.srv.Close() }

// options reach the registry from here, with its credentials.
func (r *publishRegistry) options() images.Options {
	return images.Options{PlainHTTP: true, Username: r.auth.Username, Password: r.auth.Password}
}

// tunnel is how the engine's containers reach the registry.
func (r *publishRegistry) tunnel() string { return "--registry-service=tcp://" + r.host }

// call calls a function of the module with the registry's credentials given
// first, as a user does: dagger call with-registry-auth … FUNCTION ….
func (r *publishRegistry) call(ctx context.Context, t *selftest, log string, args ...string) (string, error) {
	auth := []string{"with-registry-auth", "--address=" + r.host, "--username=" + r.auth.Username, "--secret=env://" + publishPasswordEnv}
	return t.call(ctx, log, append(auth, args...)...)
}

// publish pushes to the registry served here, signed with the signer key,
// then pulls everything back.
func (t *selftest) publish(ctx context.Context) (string, error) {
	if t.keys == nil {
		return "", errors.New("signing-key did not run")
	}
	host, keys, tunnel := t.publishRegistry.host, t.keys, t.publishRegistry.tunnel()
	out, err := t.publishRegistry.call(ctx, t, "publish", "publish", "--registry="+host+"/selftest", tunnel, "--version="+version,
		"--cosign-key=file://"+filepath.Join(keys["signer"], "cosign.key"), "--cosign-password=env://SELFTEST_COSIGN_PASSWORD")
	if err != nil {
		return "", err
	}
	listed, rest, _ := strings.Cut(out, "\n\n")
	refs := strings.Fields(listed)
	want := []string{"todo-backend:" + version, "todo-backend:" + t.commit[:7], "todo-frontend:" + version,
		"todo-frontend:" + t.commit[:7], "charts/todo-app:"}
	if len(refs) != len(want) {
		return "", fmt.Errorf("publish returned %q, want %d references", out, len(want))
	}
	for i, w := range want {
		if !strings.Contains(refs[i], host+"/selftest/"+w) || !strings.Contains(refs[i], "@sha256:") {
			return "", fmt.Errorf("reference %d is %q, want %s/selftest/%s…@sha256:…", i, refs[i], host, w)
		}
	}
	if !strings.Contains(rest, "signed with the key") || strings.Count(rest, "ok  ") != 7 || !strings.Contains(rest, "--set backend.image.digest=sha256:") {
		return "", fmt.Errorf("publish did not report 7 signatures and attestations and the --set lines:\n%s", rest)
	}
	if !strings.Contains(rest, fmt.Sprintf("built from commit %s, stamped with its time (SOURCE_DATE_EPOCH=%d)", t.commit, t.epoch)) {
		return "", fmt.Errorf("publish does not say it built commit %s at %d:\n%s", t.commit, t.epoch, rest)
	}
	// What publish pushed is what release built: one commit, one set of digests.
	if t.release != nil {
		for i, name := range map[int]string{0: "todo-backend", 2: "todo-frontend"} {
			if _, digest, _ := strings.Cut(refs[i], "@"); digest != t.release.Images[name] {
				return "", fmt.Errorf("publish pushed %s %s, release built %s", name, digest, t.release.Images[name])
			}
		}
	}

	// Both images, by digest, pulled back here and checked; the backend run by the engine.
	var pulled []string
	for i, title := range map[int]string{0: "todo-backend", 2: "todo-frontend"} {
		ref, digest, _ := strings.Cut(refs[i], "@")
		repo, _, _ := strings.Cut(ref, ":"+version)
		tarball := filepath.Join(t.out, "pulled-"+title+".tar")
		if _, err := images.Pull(repo+"@"+digest, runtime.GOOS+"/"+runtime.GOARCH, tarball, t.publishRegistry.options()); err != nil {
			return "", err
		}
		cfg, err := pipelinetest.ReadImageConfig(tarball)
		if err != nil {
			return "", err
		}
		if err := pipelinetest.CheckImage(cfg, t.labels(title)); err != nil {
			return "", fmt.Errorf("pulled %s: %w", title, err)
		}
		hc, err := pipelinetest.CheckHealthcheck(cfg)
		if err != nil {
			return "", fmt.Errorf("pulled %s: %w", title, err)
		}
		pulled = append(pulled, fmt.Sprintf("%s %s (health check %.24s…)", title, digest[:19], hc))
	}
	slices.Sort(pulled)
	run, err := t.run(ctx, "publish-run", "core", "container", "import", "--source="+filepath.Join(t.out, "pulled-todo-backend.tar"),
		"with-exec", "--args=/server,version", "stdout")
	if err != nil {
		return "", err
	}
	if !strings.Contains(run, version) || !strings.Contains(run, t.commit[:7]) {
		return "", fmt.Errorf("the pulled backend printed %q, want version %s and commit %s", run, version, t.commit[:7])
	}
	// The chart, pulled back with Helm's registry client.
	chartRef, chartDigest, _ := strings.Cut(strings.TrimPrefix(refs[4], "oci://"), "@")
	client, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP(), helmregistry.ClientOptWriter(io.Discard),
		helmregistry.ClientOptBasicAuth(t.publishRegistry.auth.Username, t.publishRegistry.auth.Password))
	if err != nil {
		return "", err
	}
	res, err := client.Pull(chartRef)
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", chartRef, err)
	}
	if res.Manifest.Digest != chartDigest || res.Chart.Meta.Name != "todo-app" {
		return "", fmt.Errorf("pulled chart %s %s, want todo-app %s", res.Chart.Meta.Name, res.Manifest.Digest, chartDigest)
	}

	t.refs = refs
	return fmt.Sprintf("%d references, signed and attested; pulled by digest: %s; the backend ran; chart %s pulled back", len(refs),
		strings.Join(pulled, ", "), res.Chart.Meta.Version), nil
}

// verify checks what publish signed, then that it refuses another key and
// an image re-tagged under a signed tag.
func (t *selftest) verify(ctx context.Context) (string, error) {
	if t.refs == nil {
		return "", errors.New("publish did not run")
	}
	host, keys, refs, tunnel := t.publishRegistry.host, t.keys, t.refs, t.publishRegistry.tunnel()
	byDigest := func(ref string) string { // repository:tag@sha256:… → repository@sha256:…
		name, digest, _ := strings.Cut(ref, "@")
		return name[:strings.LastIndex(name, ":")] + "@" + digest
	}
	signed := []string{byDigest(refs[0]), byDigest(refs[2]), refs[4]}
	verify := func(log, key string, refs ...string) (string, error) {
		args := []string{"verify", "--cosign-public-key=" + filepath.Join(keys[key], "cosign.pub"), tunnel}
		for _, r := range refs {
			args = append(args, "--refs="+r)
		}
		return t.publishRegistry.call(ctx, t, log, args...)
	}
	out, err := verify("verify", "signer", signed...)
	if err != nil {
		return "", err
	}
	if n := strings.Count(out, "ok  "); n != 7 {
		return "", fmt.Errorf("verify checked %d things, want 7 (2 images × signature and 2 attestations, the chart):\n%s", n, out)
	}
	refused := func(err error) bool { return err != nil && strings.Contains(err.Error(), "verification FAILED") }
	if _, err := verify("verify-other-key", "other", signed[0]); !refused(err) {
		return "", fmt.Errorf("verify with a key that signed nothing: %v, want verification FAILED", err)
	}
	// Re-tag the frontend under the backend's signed tag, as a tampered registry would.
	retagged, err := images.Push(filepath.Join(t.out, "pulled-todo-frontend.tar"), host+"/selftest/todo-backend", []string{version}, t.publishRegistry.options())
	if err != nil {
		return "", err
	}
	if _, err := verify("verify-retagged", "signer", host+"/selftest/todo-backend:"+version); !refused(err) {
		return "", fmt.Errorf("verify of %s, an unsigned image under a signed tag: %v, want verification FAILED", retagged[0], err)
	}
	// Without with-registry-auth, the registry refuses even to show them.
	_, err = t.call(ctx, "verify-anonymous", "verify", "--cosign-public-key="+filepath.Join(keys["signer"], "cosign.pub"), tunnel, "--refs="+signed[0])
	if !refused(err) || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		return "", fmt.Errorf("verify without the registry's credentials: %v, want verification FAILED, UNAUTHORIZED", err)
	}
	denied, allowed := t.publishRegistry.auth.Counts()
	return fmt.Sprintf("7 checks passed (2 images × signature, SBOM, provenance; the chart); another key, a re-tagged image "+
		"and a call without the registry's credentials refused (registry: %d requests with them, %d refused)", allowed, denied), nil
}

// buildRelease builds the release of HEAD and checks it: the commit and its
// time, every file's sum, each image tarball's digest.
func (t *selftest) buildRelease(ctx context.Context) (string, error) {
	dir := filepath.Join(t.out, "release")
	if _, err := t.call(ctx, "release", "release", "--version="+version, "-o", dir); err != nil {
		return "", err
	}
	r, err := pipelinetest.CheckRelease(dir, t.commit, t.epoch)
	if err != nil {
		return "", err
	}
	t.release = &r
	return fmt.Sprintf("commit %.7s at %d; backend %.19s, frontend %.19s; SHA256SUMS right", r.Commit, r.SourceDateEpoch,
		r.Images["todo-backend"], r.Images["todo-frontend"]), nil
}

// reproduce rebuilds what publish pushed and finds it identical; then it
// must refuse an image built from a changed tree whose signed provenance
// claims this commit, naming what differs.
func (t *selftest) reproduce(ctx context.Context) (string, error) {
	if t.refs == nil {
		return "", errors.New("publish did not run")
	}
	key := "--cosign-public-key=" + filepath.Join(t.keys["signer"], "cosign.pub")
	byDigest := func(ref string) string { // repository:tag@sha256:… → repository@sha256:…
		name, digest, _ := strings.Cut(ref, "@")
		return name[:strings.LastIndex(name, ":")] + "@" + digest
	}
	published := []string{byDigest(t.refs[0]), byDigest(t.refs[2]), t.refs[4]}
	out, err := t.publishRegistry.call(ctx, t, "reproduce", "reproduce", key, t.publishRegistry.tunnel(), "--refs="+strings.Join(published, ","))
	if err != nil {
		return "", err
	}
	if n := strings.Count(out, "\nreproduced "); n != 3 || !strings.Contains(out, "provenance verified") {
		return "", fmt.Errorf("reproduce reported %d of 3 artifacts reproduced:\n%s", n, out)
	}
	// A tampered backend: /server changed, as a build from a changed tree
	// gives it, pushed with the genuine provenance signed for it.
	tampered := filepath.Join(t.out, "tampered-todo-backend.tar")
	digest, err := pipelinetest.TamperedImage(filepath.Join(t.out, "pulled-todo-backend.tar"), tampered)
	if err != nil {
		return "", err
	}
	if _, err := images.Push(tampered, t.publishRegistry.host+"/selftest/todo-backend", []string{"tampered"}, t.publishRegistry.options()); err != nil {
		return "", err
	}
	forged := t.publishRegistry.host + "/selftest/todo-backend@" + digest
	if err := t.attestProvenance(ctx, published[0], forged); err != nil {
		return "", err
	}
	out, err = t.publishRegistry.call(ctx, t, "reproduce-tampered", "reproduce", key, t.publishRegistry.tunnel(), "--refs="+forged)
	if err == nil || !strings.Contains(err.Error(), "NOT REPRODUCED") || !strings.Contains(err.Error(), "/server: content sha256:") {
		return "", fmt.Errorf("reproduce of an image built from a changed tree: %v\n%s, want NOT REPRODUCED naming /server", err, out)
	}
	return "backend, frontend and chart rebuilt identical; a tampered image with a signed provenance refused, /server named", nil
}

// attestProvenance signs, with the signer key, the provenance of genuine as
// that of target: what a compromised builder could do.
func (t *selftest) attestProvenance(ctx context.Context, genuine, target string) error {
	internal := func(ref string) string {
		return strings.Replace(ref, t.publishRegistry.host, "registry"+t.publishRegistry.host[strings.LastIndex(t.publishRegistry.host, ":"):], 1)
	}
	alias := internal(t.publishRegistry.host)
	config, _ := json.Marshal(map[string]any{"auths": map[string]any{alias: map[string]string{
		"username": t.publishRegistry.auth.Username, "password": t.publishRegistry.auth.Password}}})
	os.Setenv("SELFTEST_REGISTRY_CONFIG", string(config))
	cosign := []string{"core", "container", "from", "--address=ghcr.io/sigstore/cosign/cosign:v3.1.3",
		"with-service-binding", "--alias=registry", "--service=tcp://" + t.publishRegistry.host,
		"with-mounted-secret", "--path=/registry-auth/config.json", "--source=env://SELFTEST_REGISTRY_CONFIG", "--owner=65532",
		"with-env-variable", "--name=DOCKER_CONFIG", "--value=/registry-auth",
		"with-env-variable", "--name=RUN", "--value=" + rand.Text()}
	verify := append(slices.Clone(cosign), "with-mounted-file", "--path=/cosign/cosign.pub", "--source="+filepath.Join(t.keys["signer"], "cosign.pub"),
		"--owner=65532", "with-exec", "--use-entrypoint", "--args=verify-attestation,--type,slsaprovenance1,--key,/cosign/cosign.pub,"+
			"--insecure-ignore-tlog=true,--allow-http-registry,--allow-insecure-registry,"+internal(genuine), "stdout")
	envelopes, err := t.run(ctx, "forge-read", verify...)
	if err != nil {
		return err
	}
	predicate, err := pipelinetest.ProvenancePredicate(envelopes)
	if err != nil {
		return err
	}
	predicateFile := filepath.Join(t.out, "forged-provenance.json")
	if err := os.WriteFile(predicateFile, predicate, 0o644); err != nil {
		return err
	}
	attest := append(slices.Clone(cosign), "with-mounted-file", "--path=/cosign/cosign.key", "--source="+filepath.Join(t.keys["signer"], "cosign.key"),
		"--owner=65532", "with-mounted-file", "--path=/cosign/predicate.json", "--source="+predicateFile, "--owner=65532",
		"with-secret-variable", "--name=COSIGN_PASSWORD", "--secret=env://SELFTEST_COSIGN_PASSWORD",
		"with-exec", "--use-entrypoint", "--args=attest,--yes,--key,/cosign/cosign.key,--tlog-upload=false,--use-signing-config=false,"+
			"--allow-http-registry,--allow-insecure-registry,--type,slsaprovenance1,--predicate,/cosign/predicate.json,"+internal(target), "sync")
	_, err = t.run(ctx, "forge-attest", attest...)
	return err
}

// reproducible empties the engine's cache, builds the release again from a
// clone elsewhere (another path, umask 002, fresh file times), and compares
// it with the first, byte for byte.
func (t *selftest) reproducible(ctx context.Context) (string, error) {
	if t.release == nil {
		return "", errors.New("release did not run")
	}
	clone := filepath.Join(t.out, "second-clone")
	if out, err := exec.CommandContext(ctx, "sh", "-c", `umask 002 && git clone --quiet "$0" "$1"`, ".", clone).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git clone: %w\n%s", err, out)
	}
	if _, err := t.run(ctx, "prune", "core", "engine", "local-cache", "prune"); err != nil {
		return "", err
	}
	dir := filepath.Join(t.out, "release-again")
	start := time.Now()
	if _, err := t.callIn(ctx, clone, "release-again", "release", "--version="+version, "-o", dir); err != nil {
		return "", err
	}
	took := time.Since(start).Round(time.Second)
	if _, err := pipelinetest.CheckRelease(dir, t.commit, t.epoch); err != nil {
		return "", err
	}
	diffs, err := pipelinetest.CompareReleases(filepath.Join(t.out, "release"), dir)
	if err != nil {
		return "", err
	}
	if len(diffs) > 0 {
		return "", fmt.Errorf("the release built again differs:\n%s", strings.Join(diffs, "\n"))
	}
	sums, err := pipelinetest.Checksums(dir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("after a prune, from another clone: %d files byte for byte the same (cold build %s); backend %.19s, frontend %.19s",
		len(sums), took, t.release.Images["todo-backend"], t.release.Images["todo-frontend"]), nil
}

func (t *selftest) scan(ctx context.Context) (string, error) {
	out, err := t.call(ctx, "scan", "scan")
	if err != nil {
		return "", err
	}
	return summaryOK(out, "backend", "frontend", "config")
}

// scanGate scans the planted tree (testdata/planted: a Go binary linking
// golang.org/x/crypto v0.30.0, CVE-2024-45337, CRITICAL) through the
// module's own scan path, built as the backend is: it must fail, naming the
// image, package, versions and advisory; pass with the fixed version; pass
// with the finding accepted in .trivyignore.yaml, and fail again once the
// acceptance expired; and an entry without a statement must be refused.
func (t *selftest) scanGate(ctx context.Context) (string, error) {
	tree := func(name, gomod, ignore string) (string, error) {
		dir := filepath.Join(t.out, "planted-"+name)
		if err := os.CopyFS(dir, os.DirFS("cmd/pipelinetest/testdata/planted")); err != nil {
			return "", err
		}
		if gomod != "" {
			for _, f := range []string{"go.mod", "go.sum"} {
				if err := os.Rename(filepath.Join(dir, "backend", gomod+"."+f), filepath.Join(dir, "backend", f)); err != nil {
					return "", err
				}
			}
		}
		if ignore != "" {
			if err := os.WriteFile(filepath.Join(dir, ".trivyignore.yaml"), []byte(ignore), 0o644); err != nil {
				return "", err
			}
		}
		return dir, nil
	}
	scan := func(name, gomod, ignore string) (string, error) {
		dir, err := tree(name, gomod, ignore)
		if err != nil {
			return "", err
		}
		return t.call(ctx, "scan-"+name, "--source="+dir, "scan", "--only=backend")
	}
	accepted := "vulnerabilities:\n  - id: CVE-2024-45337\n    statement: the planted server never uses ssh.ServerConfig\n    expired_at: %s\n"
	cases := []struct {
		name, gomod, ignore string
		fails               bool
		want                []string
	}{
		{"vulnerable", "", "", true, []string{"backend, the todo-backend image: 2 findings: CRITICAL 1, HIGH 1", "golang.org/x/crypto", "v0.30.0", "0.31.0", "CVE-2024-45337"}},
		{"fixed", "fixed", "", false, []string{"backend, the todo-backend image: no finding"}},
		{"accepted", "", fmt.Sprintf(accepted, time.Now().AddDate(1, 0, 0).Format(time.DateOnly)), false,
			[]string{"hidden by .trivyignore.yaml: CRITICAL CVE-2024-45337 (golang.org/x/crypto v0.30.0): the planted server never uses ssh.ServerConfig"}},
		{"expired", "", fmt.Sprintf(accepted, "2024-12-31"), true, []string{"CVE-2024-45337"}},
		{"unexplained", "", "vulnerabilities:\n  - id: CVE-2024-45337\n    expired_at: 2030-01-01\n", true,
			[]string{".trivyignore.yaml is refused", "vulnerabilities[0] (CVE-2024-45337): no statement"}},
	}
	// Side by side: each is its own call on its own tree, and most of their
	// time is each call's start and Trivy's, not the build they share.
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			out, err := scan(c.name, c.gomod, c.ignore)
			text := out
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != c.fails {
				errs[i] = fmt.Errorf("the %s tree: scan failed %v, want %v:\n%s", c.name, err != nil, c.fails, text)
				return
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					errs[i] = fmt.Errorf("the %s tree: the scan's report lacks %q:\n%s", c.name, w, text)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	// The same findings as SARIF, for code scanning.
	sarif := filepath.Join(t.out, "sarif-planted")
	if _, err := t.call(ctx, "sarif-planted", "--source="+filepath.Join(t.out, "planted-vulnerable"), "sarif", "--only=backend", "-o", sarif); err != nil {
		return "", err
	}
	rules, err := pipelinetest.SARIFRules(filepath.Join(sarif, "backend.sarif"))
	if err != nil {
		return "", err
	}
	if !slices.Contains(rules, "CVE-2024-45337") {
		return "", fmt.Errorf("backend.sarif of the planted tree reports %v, not CVE-2024-45337", rules)
	}
	return "a planted CVE-2024-45337 (CRITICAL) fails the gate, named with its package and versions; fixed, accepted: pass; " +
		"expired: fails; no statement: refused; SARIF reports it", nil
}

// gitCommit is HEAD's commit and its time.
func gitCommit() (string, int64, error) {
	out, err := exec.Command("git", "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		return "", 0, fmt.Errorf("git log -1: %w", err)
	}
	var commit string
	var epoch int64
	if _, err := fmt.Sscan(string(out), &commit, &epoch); err != nil {
		return "", 0, fmt.Errorf("git log -1 printed %q: %w", out, err)
	}
	return commit, epoch, nil
}

// tail is the end of a log file, for an error.
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  … " + file + ":\n" + strings.Join(lines, "\n")
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func fatal(err error) {
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "pipelinetest:", err)
	os.Exit(2)
}
