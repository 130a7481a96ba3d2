// Package pipeline holds every decision of the todo-app Dagger module: image
// references and tags, scan thresholds, deploy overrides and report
// formatting. It imports nothing from Dagger, so it is tested without an engine.
package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
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

var severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// SeveritiesFrom turns a threshold (e.g. HIGH) into Trivy's --severity list
// of that level and above (HIGH,CRITICAL).
func SeveritiesFrom(threshold string) (string, error) {
	i := slices.Index(severities, strings.ToUpper(strings.TrimSpace(threshold)))
	if i < 0 {
		return "", fmt.Errorf("severity %q: want one of %s", threshold, strings.Join(severities, ", "))
	}
	return strings.Join(severities[i:], ","), nil
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

// Summary is a table of parts with their status and time, then the output
// of each failed part (its tail), and the joined error of all failures.
func Summary(results []Result) (string, error) {
	var b strings.Builder
	var errs []error
	for _, r := range results {
		status := "ok"
		if r.Err != nil {
			status = "FAILED"
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, r.Err))
		}
		fmt.Fprintf(&b, "%-10s %-7s %s\n", r.Name, status, r.Duration.Round(time.Second))
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "\n--- %s ---\n%s\n", r.Name, Tail(r.Err.Error()+"\n"+r.Output, 40))
		}
	}
	return b.String(), errors.Join(errs...)
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

// GoTestPackages are the root module's package patterns the test step runs,
// and NeedsLocalStack those whose tests start the whole stack as local
// processes (initdb, the backend, node and the standalone frontend build),
// which the Go image lacks. make test runs them; in the pipeline e2e, deploy
// and prove cover the same ground with containers and k3s.
var (
	GoTestPackages  = []string{"./backend/...", "./internal/...", "./cmd/..."}
	NeedsLocalStack = []string{"/internal/devstack", "/internal/proof", "/internal/smoke"}
)

// GoTestCommand is the shell command of the pipeline's Go test step.
func GoTestCommand() string {
	filter := ""
	for _, p := range NeedsLocalStack {
		filter += " | grep -v '" + p + "$'"
	}
	return "go test -count=1 $(go list " + strings.Join(GoTestPackages, " ") + filter + ")"
}
