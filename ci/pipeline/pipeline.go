// Package pipeline holds every decision of the todo-app Dagger module: image
// references and tags, scan thresholds, deploy overrides and report
// formatting. It imports nothing from Dagger, so it is tested without an engine.
package pipeline

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
)

// Image names of the two apps.
const (
	BackendImage  = "todo-backend"
	FrontendImage = "todo-frontend"
)

var semver = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$`)

// Tags returns the tags to publish: the version without a leading "v"
// (when it is a semantic version) and the short commit.
func Tags(version, commit string) ([]string, error) {
	var tags []string
	if version != "" {
		m := semver.FindStringSubmatch(version)
		if m == nil {
			return nil, fmt.Errorf("version %q is not a semantic version like 1.2.3 or v1.2.3", version)
		}
		tags = append(tags, m[1])
	}
	if commit != "" {
		if !regexp.MustCompile(`^[0-9a-f]{7,40}$`).MatchString(commit) {
			return nil, fmt.Errorf("commit %q is not a git commit hash", commit)
		}
		tags = append(tags, commit[:7])
	}
	if len(tags) == 0 {
		return nil, errors.New("give a version, a commit, or both")
	}
	return tags, nil
}

// ImageRef joins registry (e.g. ghcr.io/acme), image name and tag. The
// repository is lowercased, as registries require (GitHub owners may not be).
func ImageRef(registry, name, tag string) string {
	ref := repository(registry, name)
	if tag != "" {
		ref += ":" + tag
	}
	return ref
}

// ChartRepo is where the chart is pushed as an OCI artifact: <registry>/charts.
func ChartRepo(registry string) string {
	return "oci://" + repository(registry, "charts")
}

func repository(registry, name string) string {
	if r := strings.TrimSuffix(registry, "/"); r != "" {
		name = r + "/" + name
	}
	return strings.ToLower(name)
}

// RegistryHost is the host part of a registry reference (for credentials).
func RegistryHost(registry string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(registry, "https://"), "http://"), "/")
	return host
}

// RegistryTunnelHost is the host name a registry given as a service is bound
// under in the push container.
const RegistryTunnelHost = "registry"

// RegistryRoute is how the push container reaches a registry: by its own
// address, or through a service bound as RegistryTunnelHost on the same port
// (a registry on the caller's machine, which only the CLI's tunnel reaches).
type RegistryRoute struct {
	Registry  string // what the user named, e.g. localhost:5000/acme
	Push      string // what the push container uses
	PlainHTTP bool
}

// NewRegistryRoute routes pushes to registry, through the tunnel when asked.
func NewRegistryRoute(registry string, tunnel bool) (RegistryRoute, error) {
	registry = strings.TrimSuffix(registry, "/")
	host := RegistryHost(registry)
	if host == "" {
		return RegistryRoute{}, errors.New("registry is empty: give one like ghcr.io/acme")
	}
	if !tunnel {
		return RegistryRoute{Registry: registry, Push: registry}, nil
	}
	_, port, err := net.SplitHostPort(host)
	if err != nil {
		return RegistryRoute{}, fmt.Errorf("registry %q: with a registry service, give its port (e.g. localhost:5000/acme)", registry)
	}
	return RegistryRoute{Registry: registry, Push: RegistryTunnelHost + ":" + port + strings.TrimPrefix(registry, host), PlainHTTP: true}, nil
}

// Internal turns a reference under the registry's own address into the one
// the push container uses: the inverse of Public.
func (r RegistryRoute) Internal(ref string) string {
	trimmed := strings.TrimPrefix(ref, "oci://")
	if !strings.HasPrefix(strings.ToLower(trimmed), strings.ToLower(r.Registry)) {
		return ref
	}
	internal := r.Push + trimmed[len(r.Registry):]
	if trimmed != ref {
		internal = "oci://" + internal
	}
	return internal
}

// Flags are the deploy tool's push flags for the route.
func (r RegistryRoute) Flags() []string {
	if r.PlainHTTP {
		return []string{"--plain-http"}
	}
	return nil
}

// Public turns a reference pushed through the route into one under the
// registry's own address, as its users pull it.
func (r RegistryRoute) Public(ref string) string {
	prefix, trimmed := strings.ToLower(r.Push), strings.TrimPrefix(ref, "oci://")
	if !strings.HasPrefix(strings.ToLower(trimmed), prefix) {
		return ref
	}
	public := strings.ToLower(r.Registry) + trimmed[len(prefix):]
	if trimmed != ref {
		public = "oci://" + public
	}
	return public
}

// Threshold checks a scan's severity threshold (e.g. high) and returns it as
// Trivy names it (HIGH).
func Threshold(severity string) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(severity))
	if !slices.Contains(TrivySeverities, s) {
		return "", fmt.Errorf("severity %q: want one of %s", severity, strings.Join(TrivySeverities, ", "))
	}
	return s, nil
}

// TrivyHelmFlags make Trivy render the chart as a cluster would install it:
// for the Kubernetes version the chart is rendered for elsewhere (Trivy's
// default, 1.20, is older than the chart allows, and Trivy then scans no
// template at all), with the values file given and the Secret referenced.
func TrivyHelmFlags(valuesFile string) []string {
	return []string{"--helm-kube-version", strings.TrimPrefix(KubeVersion, "v"),
		"--helm-values", valuesFile, "--helm-set", "secrets.existingSecret=todo-app-secrets"}
}

// KubeVersion is the Kubernetes version the chart is rendered for in scans;
// the deploy tool's default (internal/chart.DefaultKubeVersion) is the same.
const KubeVersion = "v1.33.0"

// ConfigScanTargets are what the configuration scan must have scanned.
var ConfigScanTargets = []string{"backend/Dockerfile", "frontend/Dockerfile", "helm-chart/templates/deployments.yaml"}

// scanParts are the parts of a scan.
var scanParts = []string{"backend", "frontend", "config"}

// ScanParts checks which parts of a scan to run: all when none are named.
func ScanParts(only []string) ([]string, error) {
	if len(only) == 0 {
		return scanParts, nil
	}
	for _, p := range only {
		if !slices.Contains(scanParts, p) {
			return nil, fmt.Errorf("scan part %q: want %s", p, strings.Join(scanParts, ", "))
		}
	}
	return only, nil
}

// PublicURL checks where a served stack is reached from the browser: an
// http(s) origin (scheme, host, optional port), returned without a trailing
// slash, as Better Auth compares origins.
func PublicURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("url %q: want an origin like http://localhost:8080", raw)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("url %q: give only scheme, host and port, like http://localhost:8080", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("url %q: port %q is not 1-65535", raw, p)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// DeployValues are the chart overrides for an ephemeral or existing cluster:
// which images to run, and how the Ingress is reached.
type DeployValues struct {
	Registry     string // empty: images preloaded into the cluster (k3s air-gap)
	Tag          string
	IngressClass string // traefik on k3s, nginx on Minikube
	Host         string
}

// Sets renders the overrides as helm --set arguments.
func (v DeployValues) Sets() []string {
	sets := []string{
		"backend.image.repository=" + ImageRef(v.Registry, BackendImage, ""),
		"frontend.image.repository=" + ImageRef(v.Registry, FrontendImage, ""),
		"backend.image.tag=" + v.Tag,
		"frontend.image.tag=" + v.Tag,
		"ingress.className=" + v.IngressClass,
		"ingress.host=" + v.Host,
	}
	if v.Registry == "" {
		// Preloaded images must never be pulled: there is no registry to pull from.
		sets = append(sets, "backend.image.pullPolicy=Never", "frontend.image.pullPolicy=Never")
	}
	return sets
}

// Result is the outcome of one part of a pipeline run.
type Result struct {
	Name     string
	Duration time.Duration
	Output   string
	Err      error
}

// Summary is a table of parts with their status and time, then the end of
// each failed part's output. When a part failed, the error carries the whole
// summary: a function that fails returns no text, and the table must reach
// the user either way.
func Summary(results []Result) (string, error) {
	var b strings.Builder
	var failed []string
	for _, r := range results {
		status := "ok"
		if r.Err != nil {
			status = "FAILED"
			failed = append(failed, r.Name)
		}
		fmt.Fprintf(&b, "%-10s %-7s %s\n", r.Name, status, r.Duration.Round(time.Second))
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "\n--- %s ---\n", r.Name)
			if out := strings.TrimSpace(r.Output); out != "" {
				fmt.Fprintf(&b, "%s\n", Tail(out, 20))
			}
			fmt.Fprintf(&b, "%s\n", Tail(r.Err.Error(), 40))
		}
	}
	if len(failed) > 0 {
		return b.String(), fmt.Errorf("%d of %d failed (%s):\n\n%s", len(failed), len(results), strings.Join(failed, ", "), b.String())
	}
	return b.String(), nil
}

// Tail keeps the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines above)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// ChartPackageName is the file `helm package` writes for a Chart.yaml.
func ChartPackageName(chartYAML string) (string, error) {
	var name, version string
	for _, line := range strings.Split(chartYAML, "\n") {
		if v, ok := strings.CutPrefix(line, "name:"); ok {
			name = strings.Trim(strings.TrimSpace(v), `"'`)
		}
		if v, ok := strings.CutPrefix(line, "version:"); ok {
			version = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	if name == "" || version == "" {
		return "", errors.New("Chart.yaml lacks a top-level name or version")
	}
	return name + "-" + version + ".tgz", nil
}

// GoTestCommand is the shell command of the pipeline's Go test step: each
// module's packages, without the tests that need the local stack.
func GoTestCommand() string {
	return eachGoModule(func(gocmd string, m contract.GoModule) string {
		return gocmd + " test -count=1 " + strings.Join(m.Packages, " ")
	})
}

// GoVetCommand is the shell command that vets every module's packages, the
// local stack's tests included.
func GoVetCommand() string {
	return eachGoModule(func(gocmd string, m contract.GoModule) string {
		return gocmd + " vet -tags=" + contract.LocalStackTag + " " + strings.Join(m.Packages, " ")
	})
}

// eachGoModule joins one command per Go module, each run in the module's
// directory, into a shell command that stops at the first failure.
func eachGoModule(command func(gocmd string, m contract.GoModule) string) string {
	var cmds []string
	for _, m := range contract.GoTestModules {
		gocmd := "go"
		if m.Dir != "." {
			gocmd = "go -C " + m.Dir
		}
		cmds = append(cmds, command(gocmd, m))
	}
	return strings.Join(cmds, " && ")
}
