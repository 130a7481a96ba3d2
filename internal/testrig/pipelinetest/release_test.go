package pipelinetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/todo-app/todo-app/internal/images"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

var epoch = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// serverImage writes an image tarball whose one layer holds /server.
func serverImage(t *testing.T, content string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "server", Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: epoch})
	io.WriteString(tw, content)
	tw.Close()
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := images.WriteTarball(images.Artifact{Image: img}, out, epoch); err != nil {
		t.Fatal(err)
	}
	return out
}

// releaseDir writes a release folder as `dagger call release` exports it.
func releaseDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sbom"), 0o755)
	digests := map[string]string{}
	for _, name := range []string{"todo-backend", "todo-frontend"} {
		b, _ := os.ReadFile(serverImage(t, name+" binary"))
		os.WriteFile(filepath.Join(dir, name+".oci.tar"), b, 0o644)
		images.OpenTarball(filepath.Join(dir, name+".oci.tar"), func(a images.Artifact) error {
			d, _ := a.Digest()
			digests[name] = d.String()
			return nil
		})
		os.WriteFile(filepath.Join(dir, "sbom", name+".cdx.json"), []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "todo-app-2.0.0.tgz"), []byte("chart"), 0o644)
	os.WriteFile(filepath.Join(dir, "release.json"), fmt.Appendf(nil,
		`{"commit":%q,"sourceDateEpoch":%d,"images":{"todo-backend":%q,"todo-frontend":%q},"chart":"todo-app-2.0.0.tgz"}`,
		commit, epoch.Unix(), digests["todo-backend"], digests["todo-frontend"]), 0o644)
	writeSums(t, dir)
	return dir
}

func writeSums(t *testing.T, dir string) {
	t.Helper()
	var lines []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Name() != "SHA256SUMS" {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			lines = append(lines, fmt.Sprintf("%x  %s", sha256.Sum256(b), rel))
		}
		return err
	})
	sort.Strings(lines)
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func TestCheckRelease(t *testing.T) {
	dir := releaseDir(t)
	r, err := CheckRelease(dir, commit, epoch.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if r.Chart != "todo-app-2.0.0.tgz" || len(r.Images) != 2 {
		t.Fatalf("release %+v", r)
	}
	if _, err := CheckRelease(dir, commit, epoch.Unix()+1); err == nil || !strings.Contains(err.Error(), "the commit's time") {
		t.Errorf("another epoch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "todo-app-2.0.0.tgz"), []byte("another chart"), 0o644)
	if _, err := CheckRelease(dir, commit, epoch.Unix()); err == nil || !strings.Contains(err.Error(), "SHA256SUMS says") {
		t.Errorf("a changed file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "extra"), nil, 0o644)
	writeSums(t, dir)
	os.Remove(filepath.Join(dir, "extra"))
	if _, err := CheckRelease(dir, commit, epoch.Unix()); err == nil || !strings.Contains(err.Error(), "SHA256SUMS lists") {
		t.Errorf("a listed file missing: %v", err)
	}
}

func TestCompareReleasesNamesTheFileAndWhatDiffersInside(t *testing.T) {
	a, b := releaseDir(t), releaseDir(t)
	if diffs, err := CompareReleases(a, b); err != nil || len(diffs) != 0 {
		t.Fatalf("two equal releases: %v %v", diffs, err)
	}
	backend := filepath.Join(b, "todo-backend.oci.tar")
	tampered := filepath.Join(t.TempDir(), "tampered.tar")
	digest, err := TamperedImage(backend, tampered)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(tampered)
	os.WriteFile(backend, data, 0o644)
	writeSums(t, b)
	diffs, err := CompareReleases(a, b)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(diffs, "\n")
	for _, want := range []string{"todo-backend.oci.tar: sha256 ", "layer 1: /server: content sha256:", "size 19 ≠ 46"} {
		if !strings.Contains(got, want) {
			t.Errorf("the comparison lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "todo-frontend") || !strings.HasPrefix(digest, "sha256:") {
		t.Errorf("digest %s; diffs:\n%s", digest, got)
	}
}

func TestProvenancePredicate(t *testing.T) {
	statement := `{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x"}}}`
	sbom := `{"predicateType":"https://cyclonedx.org/bom","predicate":{}}`
	lines := fmt.Sprintf("{\"payload\":%q}\n{\"payload\":%q}\n", base64.StdEncoding.EncodeToString([]byte(sbom)), base64.StdEncoding.EncodeToString([]byte(statement)))
	got, err := ProvenancePredicate(lines)
	if err != nil || string(got) != `{"buildDefinition":{"buildType":"x"}}` {
		t.Fatalf("ProvenancePredicate = %s, %v", got, err)
	}
	if _, err := ProvenancePredicate("{\"payload\":\"" + base64.StdEncoding.EncodeToString([]byte(sbom)) + "\"}"); err == nil {
		t.Error("an SBOM alone was taken for a provenance")
	}
}

func TestSARIFRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "backend.sarif")
	os.WriteFile(file, []byte(`{"version":"2.1.0","runs":[{"results":[{"ruleId":"CVE-2024-45337"},{"ruleId":"CVE-2025-22869"}]}]}`), 0o644)
	if got, err := SARIFRules(file); err != nil || strings.Join(got, ",") != "CVE-2024-45337,CVE-2025-22869" {
		t.Errorf("SARIFRules = %v, %v", got, err)
	}
	os.WriteFile(file, []byte(`{"version":"2.0.0","runs":[]}`), 0o644)
	if _, err := SARIFRules(file); err == nil {
		t.Error("a report of another version was read")
	}
}
