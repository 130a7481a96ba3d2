package pipelinetest

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/todo-app/todo-app/internal/chart"
)

func TestSBOM(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"github.com/jackc/pgx/v5"},{"name":"stdlib"}]}`
	for _, tt := range []struct {
		name, doc string
		want      []string
		count     int
		err       string
	}{
		{"lists what is asked", doc, []string{"pgx"}, 2, ""},
		{"lacks a package", doc, []string{"next"}, 0, `none named like "next"`},
		{"another format", `{"spdxVersion":"SPDX-2.3"}`, nil, 0, "not a CycloneDX document"},
		{"not JSON", `<bom/>`, nil, 0, "not JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := SBOM([]byte(tt.doc), tt.want...)
			if n != tt.count || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("SBOM = %d, %v; want %d, %q", n, err, tt.count, tt.err)
			}
		})
	}
}

// imageTar writes an image tarball of the given layout with config as its
// configuration and a large layer that must not be kept.
func imageTar(t *testing.T, layout string, config map[string]any) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	put := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	blob := func(v any) string {
		b, ok := v.([]byte)
		if !ok {
			b, _ = json.Marshal(v)
		}
		sum := sha256.Sum256(b)
		put("blobs/sha256/"+hex.EncodeToString(sum[:]), b)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	layer := blob(make([]byte, maxMetadata+1))
	cfg := blob(map[string]any{"architecture": "amd64", "os": "linux", "config": config})
	manifest := blob(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"digest": cfg}, "layers": []any{map[string]any{"digest": layer}}})
	switch layout {
	case "oci":
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{
			map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest}}})
		put("index.json", b)
	case "oci-multi-platform":
		nested := blob(map[string]any{"schemaVersion": 2, "manifests": []any{
			map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest}}})
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{
			map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": nested}}})
		put("index.json", b)
	case "docker":
		b, _ := json.Marshal([]any{map[string]any{"Config": "blobs/sha256/" + strings.TrimPrefix(cfg, "sha256:")}})
		put("manifest.json", b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestReadImageConfigAndCheckImage(t *testing.T) {
	good := map[string]any{"User": "1000:1000", "Labels": map[string]string{"org.opencontainers.image.version": "1.2.3"},
		"Healthcheck": map[string]any{"Test": []string{"CMD", "/server", "healthcheck"}}, "Entrypoint": []string{"/server"}}
	labels := map[string]string{"org.opencontainers.image.version": "1.2.3"}
	for _, layout := range []string{"oci", "oci-multi-platform", "docker"} {
		t.Run(layout, func(t *testing.T) {
			cfg, err := ReadImageConfig(imageTar(t, layout, good))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.User != "1000:1000" || cfg.Entrypoint[0] != "/server" {
				t.Fatalf("config = %+v", cfg)
			}
			if err := CheckImage(cfg, labels); err != nil {
				t.Fatal(err)
			}
			if hc, err := CheckHealthcheck(cfg); err != nil || hc != "CMD /server healthcheck" {
				t.Fatalf("CheckHealthcheck = %q, %v", hc, err)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"root", map[string]any{"Labels": good["Labels"], "Healthcheck": good["Healthcheck"]}, "runs as root"},
		{"uid 0", map[string]any{"User": "0:0", "Labels": good["Labels"], "Healthcheck": good["Healthcheck"]}, "runs as root"},
		{"no label", map[string]any{"User": "nextjs", "Healthcheck": good["Healthcheck"]}, "label org.opencontainers.image.version"},
		{"no health check", map[string]any{"User": "nextjs", "Labels": good["Labels"]}, "no health check"},
		{"health check off", map[string]any{"User": "nextjs", "Labels": good["Labels"], "Healthcheck": map[string]any{"Test": []string{"NONE"}}}, "no health check"},
		{"root and no label", map[string]any{"User": "root", "Healthcheck": good["Healthcheck"]}, "runs as root (user \"root\"); label"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ReadImageConfig(imageTar(t, "oci", tt.config))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckImage(cfg, labels)
			if _, hcErr := CheckHealthcheck(cfg); hcErr != nil {
				err = errors.Join(err, hcErr)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckImage, CheckHealthcheck = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := ReadImageConfig(imageTar(t, "none", good)); err == nil {
		t.Fatal("a tarball with neither index.json nor manifest.json was read")
	}
}

func TestCheckManifests(t *testing.T) {
	deployment := func(name string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers: [{name: app, image: x}]
`
	}
	both := "---\n" + deployment("todo-todo-app-backend") + "---\n" + deployment("todo-todo-app-frontend")
	for _, tt := range []struct{ name, manifest, want string }{
		{"both apps", both, ""},
		{"an empty Secret", both + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", ""},
		{"a Secret with values", both + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: x}\n", "carries values"},
		{"no frontend", "---\n" + deployment("todo-todo-app-backend"), "no frontend Deployment"},
		{"a misspelled field", strings.Replace(both, "containers:", "containerz:", 1), "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			summary, err := CheckManifests(tt.manifest)
			if tt.want == "" {
				if err != nil || !strings.Contains(summary, "todo-todo-app-frontend") {
					t.Fatalf("CheckManifests = %q, %v", summary, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckManifests = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLintChart(t *testing.T) {
	ch, err := chart.Load("../../../helm-chart")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good, err := chart.Values([]string{"../../../helm-chart/values-dev.yaml"}, []string{
		"secrets.betterAuthSecret=" + strings.Repeat("s", 32), "postgresql.auth.password=pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := LintChart(pkg, good); err != nil {
		t.Fatal(err)
	}
	bad, _ := chart.Values(nil, []string{"backend.replicaCount=many"})
	if err := LintChart(pkg, bad); err == nil || !strings.Contains(err.Error(), "replicaCount") {
		t.Fatalf("LintChart with a bad value = %v", err)
	}
}
