// Package chart renders the todo-app Helm chart with the Helm SDK and decodes
// what it renders into typed Kubernetes objects. The chart tests and the
// deploy tool both use it, so what is tested is what gets deployed.
package chart

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// DefaultKubeVersion is the Kubernetes version renders target unless told
// otherwise; chartutil's own default claims v1.20, older than the chart allows.
const DefaultKubeVersion = "v1.33.0"

// Load reads a chart directory or packaged chart.
func Load(path string) (*helmchart.Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", path, err)
	}
	return ch, nil
}

// Values merges values files in order, then --set style overrides.
func Values(files []string, sets []string) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		vals = chartutil.CoalesceTables(m, vals)
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	return vals, nil
}

// RenderOptions name the release and the cluster rendered for.
type RenderOptions struct {
	ReleaseName string
	Namespace   string
	KubeVersion string // e.g. v1.29.0; DefaultKubeVersion when empty
}

// Render renders ch with vals the way `helm install --dry-run` would, values
// schema checks and `required` messages included, without a cluster.
func Render(ctx context.Context, ch *helmchart.Chart, vals map[string]any, o RenderOptions) (*release.Release, error) {
	kv := o.KubeVersion
	if kv == "" {
		kv = DefaultKubeVersion
	}
	version, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", kv, err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.ClientOnly = true
	install.DryRun = true
	install.DryRunOption = "client"
	install.KubeVersion = version
	install.ReleaseName = o.ReleaseName
	install.Namespace = o.Namespace
	rel, err := install.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return rel, nil
}

// Document is one rendered Kubernetes object.
type Document struct {
	Source string // template path
	Hook   bool   // a Helm hook (e.g. a helm test pod)
	Object runtime.Object
}

// strict refuses unknown and duplicate fields, which helm lint lets through.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// Decode strictly decodes every object of a release, hooks included.
func Decode(rel *release.Release) ([]Document, error) {
	docs, err := DecodeManifests(rel.Manifest)
	if err != nil {
		return nil, err
	}
	for _, h := range rel.Hooks {
		doc, err := decode(h.Path, h.Manifest, true)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, *doc)
		}
	}
	return docs, nil
}

// DecodeManifests strictly decodes a stream of rendered manifests (what
// helm template or todoctl render prints), in Helm's install order.
func DecodeManifests(manifest string) ([]Document, error) {
	manifests := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(manifests))
	for k := range manifests {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var docs []Document
	for _, k := range keys {
		m := manifests[k]
		source := k
		if line, _, ok := strings.Cut(strings.TrimSpace(m), "\n"); ok && strings.HasPrefix(line, "# Source: ") {
			source = strings.TrimPrefix(line, "# Source: ")
		}
		doc, err := decode(source, m, false)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, *doc)
		}
	}
	return docs, nil
}

// decode strictly decodes one manifest; an empty one is nil.
func decode(source, manifest string, hook bool) (*Document, error) {
	if strings.TrimSpace(manifest) == "" {
		return nil, nil
	}
	obj, _, err := strict.Decode([]byte(manifest), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Document{Source: source, Hook: hook, Object: obj}, nil
}

// PushOptions are how Push reaches a registry.
type PushOptions struct {
	Username, Password string // empty: anonymous
	// PlainHTTP speaks http instead of https; always so for localhost and
	// 127.0.0.1, as for container engines.
	PlainHTTP bool
	// Created is the manifest's creation time (org.opencontainers.image.created),
	// the commit's for a reproducible push; zero means now, as Helm does.
	Created time.Time
}

// client is Helm's registry client for a repository (host/path) reached as o says.
func (o PushOptions) client(repo string) (*registry.Client, error) {
	var opts []registry.ClientOption
	if o.Username != "" {
		opts = append(opts, registry.ClientOptBasicAuth(o.Username, o.Password))
	}
	if h, _, _ := strings.Cut(repo, "/"); o.PlainHTTP || strings.HasPrefix(h, "localhost") || strings.HasPrefix(h, "127.0.0.1") {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	opts = append(opts, registry.ClientOptWriter(io.Discard))
	return registry.NewClient(opts...)
}

// Push uploads a packaged chart to an OCI repository (oci://host/path) and
// returns its reference with digest.
func Push(packagePath, repository string, o PushOptions) (string, error) {
	data, err := os.ReadFile(packagePath)
	if err != nil {
		return "", fmt.Errorf("push: %w", err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("push %s: %w", packagePath, err)
	}
	repo, ok := strings.CutPrefix(repository, "oci://")
	if !ok {
		return "", fmt.Errorf("push: repository %q must start with oci://", repository)
	}
	client, err := o.client(repo)
	if err != nil {
		return "", err
	}
	ref := fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(repo, "/"), ch.Name(), ch.Metadata.Version)
	var pushOpts []registry.PushOption
	if !o.Created.IsZero() {
		pushOpts = append(pushOpts, registry.PushOptCreationTime(o.Created.UTC().Format(time.RFC3339)))
	}
	res, err := client.Push(data, ref, pushOpts...)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref + "@" + res.Manifest.Digest, nil
}
