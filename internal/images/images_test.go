package images

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// layoutTarball writes an OCI tarball of one image per platform, as
// Container.asTarball does.
func layoutTarball(t *testing.T, platforms ...string) string {
	t.Helper()
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms {
		img, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		plat, _ := v1.ParsePlatform(p)
		if img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: plat.OS, Architecture: plat.Architecture,
			Config: v1.Config{User: "1000:1000"}}); err != nil {
			t.Fatal(err)
		}
		if err := lp.AppendImage(img, layout.WithPlatform(*plat)); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "image.tar")
	if err := tarDir(dir, tarball, time.Now()); err != nil {
		t.Fatal(err)
	}
	return tarball
}

func TestPushAndPullBack(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/acme/todo-backend"
	for _, tt := range []struct {
		name      string
		platforms []string
	}{
		{"one platform", []string{"linux/amd64"}},
		{"two platforms", []string{"linux/amd64", "linux/arm64"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			built := layoutTarball(t, tt.platforms...)
			hc := &v1.HealthConfig{Test: []string{"CMD", "/server", "healthcheck"}, Interval: 15 * time.Second}
			tarball := filepath.Join(t.TempDir(), "release.tar")
			normalized, err := NormalizeTarball(built, tarball, Stamp{Epoch: time.Unix(1700000000, 0), Healthcheck: hc})
			if err != nil {
				t.Fatal(err)
			}
			refs, err := Push(tarball, repo, []string{"1.2.3", "abc1234"}, Options{PlainHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 2 || !strings.HasPrefix(refs[0], repo+":1.2.3@sha256:") || !strings.HasPrefix(refs[1], repo+":abc1234@sha256:") {
				t.Fatalf("refs = %v", refs)
			}
			_, digest, _ := strings.Cut(refs[0], "@")
			if digest != normalized.String() {
				t.Fatalf("pushed %s, normalized %s", digest, normalized)
			}
			fetched, err := Fetch(repo+":1.2.3", Options{PlainHTTP: true})
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := fetched.Digest(); d.String() != digest || (fetched.Index != nil) != (len(tt.platforms) > 1) {
				t.Fatalf("fetched %s (index %v), pushed %s", d, fetched.Index != nil, digest)
			}
			for _, p := range tt.platforms {
				out := filepath.Join(t.TempDir(), "pulled.tar")
				got, err := Pull(repo+"@"+digest, p, out, Options{PlainHTTP: true})
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != digest {
					t.Fatalf("pulled %s, pushed %s", got, digest)
				}
				pulled, err := layout.ImageIndexFromPath(unpacked(t, out))
				if err != nil {
					t.Fatal(err)
				}
				im, _ := pulled.IndexManifest()
				img, err := pulled.Image(im.Manifests[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				cfg, _ := img.ConfigFile()
				if cfg.Platform().String() != p || cfg.Config.User != "1000:1000" || !reflect.DeepEqual(cfg.Config.Healthcheck, hc) {
					t.Fatalf("pulled %s: platform %s, user %q, health check %+v", p, cfg.Platform(), cfg.Config.User, cfg.Config.Healthcheck)
				}
			}
		})
	}
}

func unpacked(t *testing.T, tarball string) string {
	dir := t.TempDir()
	if err := untar(tarball, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPushRefusesWhatIsNoImage(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.tar")
	if err := tarDir(t.TempDir(), empty, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(empty, "localhost:1/x", []string{"1"}, Options{}); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Fatalf("Push of an empty tarball = %v", err)
	}
	if _, err := Push(empty, "localhost:1/x", nil, Options{}); err == nil {
		t.Fatal("Push without tags succeeded")
	}
}

func TestDockerfileHealthcheck(t *testing.T) {
	for _, tt := range []struct {
		name, dockerfile string
		want             *v1.HealthConfig
		err              string
	}{
		{"exec form with flags, continued", "FROM golang AS build\nHEALTHCHECK CMD [\"go\"]\nFROM scratch\n# the image's own\nHEALTHCHECK --interval=15s --timeout=3s \\\n  --start-period=5s --retries=3 CMD [\"/server\", \"healthcheck\"]\n",
			&v1.HealthConfig{Test: []string{"CMD", "/server", "healthcheck"}, Interval: 15 * time.Second, Timeout: 3 * time.Second, StartPeriod: 5 * time.Second, Retries: 3}, ""},
		{"shell form keeps its spacing", "FROM x\nHEALTHCHECK CMD curl -f  http://localhost/ || exit 1\n",
			&v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f  http://localhost/ || exit 1"}}, ""},
		{"turned off", "FROM x\nHEALTHCHECK NONE\n", &v1.HealthConfig{Test: []string{"NONE"}}, ""},
		{"only an earlier stage has one", "FROM a\nHEALTHCHECK CMD [\"a\"]\nFROM b\n", nil, ""},
		{"none at all", "FROM a\nCMD [\"a\"]\n", nil, ""},
		{"bad duration", "FROM a\nHEALTHCHECK --interval=soon CMD [\"a\"]\n", nil, "--interval"},
		{"unknown flag", "FROM a\nHEALTHCHECK --every=1s CMD [\"a\"]\n", nil, "unknown flag"},
		{"no command", "FROM a\nHEALTHCHECK --retries=2\n", nil, "want CMD or NONE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DockerfileHealthcheck(tt.dockerfile)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, file := range []string{"../../backend/Dockerfile", "../../frontend/Dockerfile"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if hc, err := DockerfileHealthcheck(string(b)); err != nil || hc == nil || hc.Test[0] != "CMD" {
			t.Errorf("%s: health check %+v, %v", file, hc, err)
		}
	}
}
