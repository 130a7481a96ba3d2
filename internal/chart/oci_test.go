package chart_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// of what it stored, and the chart comes back byte for byte. Stamped with the
	// commit's time, two pushes give one manifest digest (Helm stamps the time of
	// the push otherwise).
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	got2, err := chart.Push(pkg, "oci://"+strings.Replace(host, "127.0.0.1", "localhost", 1)+"/charts", chart.PushOptions{Created: created})
	if err != nil {
		t.Fatal(err)
	}
	again, err := chart.Push(pkg, "oci://"+strings.Replace(host, "127.0.0.1", "localhost", 1)+"/other", chart.PushOptions{Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if _, d1, _ := strings.Cut(got2, "@"); !strings.HasSuffix(again, "@"+d1) {
		t.Fatalf("two pushes stamped with one time: %s and %s", got2, again)
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
	// A rebuild is compared with what was published: the same bytes, or what differs.
	if d, err := chart.DiffPublished(pkg, "oci://"+ref2, chart.PushOptions{}); err != nil || d != nil {
		t.Fatalf("the package differs from itself published: %v %v", d, err)
	}
	other, err := chart.Package(ch, t.TempDir(), created.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d, err := chart.DiffPublished(other, "oci://"+ref2, chart.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) < 2 || !strings.HasPrefix(d[0], "archive sha256:") || !strings.Contains(strings.Join(d, "\n"), "todo-app/Chart.yaml: content sha256:") {
		t.Fatalf("the diff of a package with other times = %q", d)
	}
	if _, err := chart.Push(pkg, "https://example.com/x", chart.PushOptions{}); err == nil {
		t.Fatal("a non-oci repository was accepted")
	}
}

// Two packages of one chart, made at other times and from copies with other
// file times, are the same bytes; another epoch gives other bytes.
func TestPackageIsReproducible(t *testing.T) {
	epoch := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	pack := func(epoch time.Time) []byte {
		t.Helper()
		copied := filepath.Join(t.TempDir(), "helm-chart")
		if err := os.CopyFS(copied, os.DirFS(chartDir)); err != nil {
			t.Fatal(err)
		}
		ch, err := chart.Load(copied)
		if err != nil {
			t.Fatal(err)
		}
		path, err := chart.Package(ch, t.TempDir(), epoch)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := pack(epoch)
	time.Sleep(1100 * time.Millisecond) // Helm's own times would now differ
	if second := pack(epoch); !bytes.Equal(first, second) {
		t.Fatal("two packages of one chart differ")
	}
	if bytes.Equal(first, pack(epoch.Add(time.Hour))) {
		t.Fatal("another epoch gave the same bytes")
	}
	ch, err := loader.LoadArchive(bytes.NewReader(first))
	if err != nil || ch.Name() != "todo-app" || ch.Schema == nil {
		t.Fatalf("the package does not load back: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Header.Comment != "Helm" {
		t.Errorf("gzip comment %q: Helm's marker is lost", zr.Header.Comment)
	}
	tr := tar.NewReader(zr)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if !h.ModTime.Equal(epoch) {
			t.Fatalf("%s: time %s, want %s", h.Name, h.ModTime, epoch)
		}
	}
}
