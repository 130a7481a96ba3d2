// Package pipelinetest judges what the Dagger module's functions return, as
// its self-test (cmd/pipelinetest) receives them through the dagger CLI: SBOMs,
// image tarballs, rendered manifests. It needs no engine, so it is unit-tested.
package pipelinetest

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/todo-app/todo-app/internal/chart"
)

// SBOM checks a CycloneDX JSON document: its format, and that it lists
// packages, among them one whose name contains each of want. It returns how
// many components it lists.
func SBOM(data []byte, want ...string) (int, error) {
	type component struct {
		Name string `json:"name"`
	}
	var bom struct {
		BOMFormat   string      `json:"bomFormat"`
		SpecVersion string      `json:"specVersion"`
		Components  []component `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		return 0, fmt.Errorf("not JSON: %w", err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
		return 0, fmt.Errorf("bomFormat %q, specVersion %q: not a CycloneDX document", bom.BOMFormat, bom.SpecVersion)
	}
	for _, w := range want {
		if !slices.ContainsFunc(bom.Components, func(c component) bool { return strings.Contains(c.Name, w) }) {
			return 0, fmt.Errorf("%d components, none named like %q", len(bom.Components), w)
		}
	}
	return len(bom.Components), nil
}

// ImageConfig is the part of an image's configuration the self-test checks.
type ImageConfig struct {
	User        string            `json:"User"`
	Labels      map[string]string `json:"Labels"`
	Entrypoint  []string          `json:"Entrypoint"`
	Cmd         []string          `json:"Cmd"`
	Healthcheck *struct {
		Test []string `json:"Test"`
	} `json:"Healthcheck"`
}

// maxMetadata bounds the files kept while reading an image tarball: indexes,
// manifests and configs are small, layers are not needed.
const maxMetadata = 4 << 20

// ReadImageConfig reads the configuration of the image in a tarball written
// by `dagger call … export`: an OCI layout (index.json) or a Docker archive
// (manifest.json). A multi-platform index yields its first image.
func ReadImageConfig(file string) (ImageConfig, error) {
	f, err := os.Open(file)
	if err != nil {
		return ImageConfig{}, err
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ImageConfig{}, fmt.Errorf("%s: %w", file, err)
		}
		if h.Typeflag == tar.TypeReg && h.Size <= maxMetadata {
			if files[path.Clean(h.Name)], err = io.ReadAll(tr); err != nil {
				return ImageConfig{}, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	blob := func(digest string) ([]byte, error) {
		algo, hex, ok := strings.Cut(digest, ":")
		b, found := files[path.Join("blobs", algo, hex)]
		if !ok || !found {
			return nil, fmt.Errorf("%s: no blob %s", file, digest)
		}
		return b, nil
	}
	var configBlob []byte
	switch {
	case files["index.json"] != nil:
		manifest, err := firstManifest(files["index.json"], blob)
		if err != nil {
			return ImageConfig{}, fmt.Errorf("%s: %w", file, err)
		}
		var m struct {
			Config struct{ Digest string } `json:"config"`
		}
		if err := json.Unmarshal(manifest, &m); err != nil {
			return ImageConfig{}, fmt.Errorf("%s: manifest: %w", file, err)
		}
		if configBlob, err = blob(m.Config.Digest); err != nil {
			return ImageConfig{}, err
		}
	case files["manifest.json"] != nil:
		var m []struct{ Config string }
		if err := json.Unmarshal(files["manifest.json"], &m); err != nil || len(m) == 0 {
			return ImageConfig{}, fmt.Errorf("%s: manifest.json lists no image (%v)", file, err)
		}
		if configBlob = files[path.Clean(m[0].Config)]; configBlob == nil {
			return ImageConfig{}, fmt.Errorf("%s: no config %s", file, m[0].Config)
		}
	default:
		return ImageConfig{}, fmt.Errorf("%s: neither an OCI layout nor a Docker archive", file)
	}
	var cfg struct {
		Config ImageConfig `json:"config"`
	}
	if err := json.Unmarshal(configBlob, &cfg); err != nil {
		return ImageConfig{}, fmt.Errorf("%s: config: %w", file, err)
	}
	return cfg.Config, nil
}

// firstManifest follows an OCI index (through nested indexes) to the first
// image manifest.
func firstManifest(index []byte, blob func(string) ([]byte, error)) ([]byte, error) {
	for range 4 {
		var idx struct {
			MediaType string `json:"mediaType"`
			Manifests []struct {
				MediaType string `json:"mediaType"`
				Digest    string `json:"digest"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(index, &idx); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		if len(idx.Manifests) == 0 {
			return nil, errors.New("the index lists no manifest")
		}
		b, err := blob(idx.Manifests[0].Digest)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(idx.Manifests[0].MediaType, "index") && !strings.Contains(idx.Manifests[0].MediaType, "manifest.list") {
			return b, nil
		}
		index = b
	}
	return nil, errors.New("indexes nested too deep")
}

// CheckImage checks that an image runs as a non-root user and carries each
// of the labels with its value.
func CheckImage(c ImageConfig, labels map[string]string) error {
	var problems []string
	user, _, _ := strings.Cut(c.User, ":")
	if user == "" || user == "0" || user == "root" {
		problems = append(problems, fmt.Sprintf("runs as root (user %q)", c.User))
	}
	for k, want := range labels {
		if got, ok := c.Labels[k]; !ok || got != want {
			problems = append(problems, fmt.Sprintf("label %s = %q, want %q", k, got, want))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// CheckHealthcheck checks that an image has a health check, and returns it.
func CheckHealthcheck(c ImageConfig) (string, error) {
	if c.Healthcheck == nil || len(c.Healthcheck.Test) == 0 || c.Healthcheck.Test[0] == "NONE" {
		return "", errors.New("no health check")
	}
	return strings.Join(c.Healthcheck.Test, " "), nil
}

// CheckManifests strictly decodes rendered manifests and checks that they
// deploy both apps and carry no secret value: the chart references an
// existing Secret instead of rendering one. It returns a one-line summary.
func CheckManifests(manifest string) (string, error) {
	docs, err := chart.DecodeManifests(manifest)
	if err != nil {
		return "", err
	}
	var deployments []string
	for _, d := range docs {
		switch o := d.Object.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, o.Name)
		case *corev1.Secret:
			if len(o.Data) > 0 || len(o.StringData) > 0 {
				return "", fmt.Errorf("%s: Secret %s carries values (%d keys) in the manifests", d.Source, o.Name, len(o.Data)+len(o.StringData))
			}
		}
	}
	for _, app := range []string{"backend", "frontend"} {
		if !slices.ContainsFunc(deployments, func(n string) bool { return strings.HasSuffix(n, "-"+app) }) {
			return "", fmt.Errorf("no %s Deployment among %v", app, deployments)
		}
	}
	return fmt.Sprintf("%d objects, Deployments %s", len(docs), strings.Join(deployments, ", ")), nil
}

// LintChart runs helm lint, strictly, on a packaged chart with the values
// given: what a user's `helm lint todo-app-X.tgz -f … --set …` reports.
func LintChart(pkg string, vals map[string]any) error {
	lint := action.NewLint()
	lint.Strict = true
	res := lint.Run([]string{pkg}, vals)
	var problems []string
	for _, m := range res.Messages {
		if m.Severity > support.InfoSev {
			problems = append(problems, m.Error())
		}
	}
	for _, err := range res.Errors {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("helm lint %s:\n%s", pkg, strings.Join(problems, "\n"))
	}
	return nil
}

// SARIFRules are the rules (advisories, checks) a SARIF 2.1.0 report's
// results name.
func SARIFRules(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) == 0 {
		return nil, fmt.Errorf("%s is not a SARIF 2.1.0 report (%v)", file, err)
	}
	var rules []string
	for _, run := range sarif.Runs {
		for _, r := range run.Results {
			rules = append(rules, r.RuleID)
		}
	}
	return rules, nil
}
