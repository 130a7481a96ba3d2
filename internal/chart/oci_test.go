package chart_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/todo-app/todo-app/internal/chart"
)

// TestOCIPushPull packages the chart, pushes it to an in-memory OCI registry
// the way `dagger call publish` does, and pulls it back intact.
func TestOCIPushPull(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkg, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	version := ch.Metadata.Version
	if filepath.Base(pkg) != "todo-app-"+version+".tgz" {
		t.Fatalf("package name %s", filepath.Base(pkg))
	}
	client, err := helmregistry.NewClient(helmregistry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/charts/todo-app:" + ch.Metadata.Version
	pushed, err := client.Push(data, ref)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if !strings.HasPrefix(pushed.Manifest.Digest, "sha256:") {
		t.Fatalf("push result %+v", pushed.Manifest)
	}
	pulled, err := client.Pull(ref)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	got, err := loader.LoadArchive(strings.NewReader(string(pulled.Chart.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "todo-app" || got.Metadata.Version != version || len(got.Templates) != len(ch.Templates) || got.Schema == nil {
		t.Fatalf("pulled chart %s %s with %d templates (schema %v), want todo-app %s with %d",
			got.Name(), got.Metadata.Version, len(got.Templates), got.Schema != nil, version, len(ch.Templates))
	}
	if pulled.Manifest.Digest != pushed.Manifest.Digest {
		t.Fatalf("digest changed: pushed %s, pulled %s", pushed.Manifest.Digest, pulled.Manifest.Digest)
	}

	// The deploy tool's Push (what `dagger call publish` runs) reports the digest
	// of what it stored, and the chart comes back byte for byte. (Manifest digests
	// differ between pushes: Helm stamps the creation time into the manifest.)
	got2, err := chart.Push(pkg, "oci://"+strings.Replace(host, "127.0.0.1", "localhost", 1)+"/charts", chart.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref2, digest, ok := strings.Cut(got2, "@")
	if !ok || !strings.HasSuffix(ref2, "/charts/todo-app:"+version) {
		t.Fatalf("chart.Push = %s", got2)
	}
	pulled2, err := client.Pull(strings.Replace(ref2, "localhost", "127.0.0.1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if pulled2.Manifest.Digest != digest || !bytes.Equal(pulled2.Chart.Data, data) {
		t.Fatalf("pulled %s (%d bytes), pushed %s (%d bytes)", pulled2.Manifest.Digest, len(pulled2.Chart.Data), digest, len(data))
	}
	if _, err := chart.Push(pkg, "https://example.com/x", chart.PushOptions{}); err == nil {
		t.Fatal("a non-oci repository was accepted")
	}
}
