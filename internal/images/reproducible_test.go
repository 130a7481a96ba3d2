package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	commitTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	baseTime   = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
)

// file is one entry of a test layer.
type file struct {
	name, content string
	mtime         time.Time
	atime         time.Time // zero: none recorded
}

func layerOf(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.content)), ModTime: f.mtime, AccessTime: f.atime, Typeflag: tar.TypeReg}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if !f.atime.IsZero() {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, f.content)
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// baseLayer is the base image's layer: fixed bytes, older than the commit.
func baseLayer(t *testing.T) v1.Layer {
	return layerOf(t, file{name: "etc/passwd", content: "root:x:0:0::/root:/bin/sh\n", mtime: baseTime})
}

// stamp is a Stamp at the commit's time that knows the base image.
func stamp(t *testing.T, epoch time.Time) Stamp {
	id, err := baseLayer(t).DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return Stamp{Epoch: epoch, Base: map[string][]v1.Hash{"linux/amd64": {id}}}
}

// build is what two builds of one commit give when run at another time: a
// base layer that is the same, the build's own files with the time they
// were written (a cache hit: the time of an earlier build, before the
// commit), history stamped with the engine's cache records.
func build(t *testing.T, at time.Time, server string) v1.Image {
	t.Helper()
	// Which step first made a layer on the engine: differs from cache to cache.
	createdBy := "[runner 2/4] COPY /server"
	if at.Unix()%2 == 0 {
		createdBy = "[deps 2/5] COPY /server"
	}
	base := baseLayer(t)
	own := layerOf(t,
		file{name: "server", content: server, mtime: at, atime: at.Add(time.Second)},
		file{name: "data/", content: "", mtime: at.Add(-time.Minute)},
		file{name: "etc/old", content: "kept", mtime: baseTime})
	img, err := mutate.Append(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON),
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: at.Add(-time.Hour)}, CreatedBy: "pull"}},
		mutate.Addendum{Layer: own, History: v1.History{Created: v1.Time{Time: at}, CreatedBy: createdBy}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = "linux", "amd64", v1.Time{Time: at}
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.revision": "abc"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNormalizeGivesOneDigestForBuildsAtOtherTimes(t *testing.T) {
	now := time.Now().Truncate(2 * time.Second)
	first, second := build(t, now, "binary"), build(t, now.Add(49*time.Hour+time.Second), "binary")
	// A cache hit: what an earlier build wrote, a minute before the commit.
	cached := build(t, commitTime.Add(-time.Minute), "binary")
	if digest(t, first) == digest(t, second) {
		t.Fatal("the two builds are already equal: the test proves nothing")
	}
	s := stamp(t, commitTime)
	a, err := Normalize(first, s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Normalize(second, s)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Normalize(cached, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []v1.Image{b, c} {
		if digest(t, a) != digest(t, other) {
			diffs, _ := Diff(Artifact{Image: a}, Artifact{Image: other})
			t.Fatalf("normalized builds differ:\n%s", strings.Join(diffs, "\n"))
		}
	}
	cfg, _ := a.ConfigFile()
	if !cfg.Created.Equal(commitTime) || len(cfg.History) != 2 {
		t.Fatalf("created %s, history %v", cfg.Created, cfg.History)
	}
	for _, h := range cfg.History {
		if !h.Created.Equal(commitTime) || h.CreatedBy != "" {
			t.Errorf("history %q created %s, want the commit's time and nothing of the engine's cache", h.CreatedBy, h.Created)
		}
	}
	layers, _ := a.Layers()
	original, _ := first.Layers()
	if d0, o0 := mustDigest(t, layers[0]), mustDigest(t, original[0]); d0 != o0 {
		t.Errorf("the base layer was rewritten (%s ≠ %s): registries would no longer share it", d0, o0)
	}
	got, err := files(layers[1])
	if err != nil {
		t.Fatal(err)
	}
	if f := got["/server"]; !f.mtime.Equal(commitTime) {
		t.Errorf("/server mtime %s, want the commit's time", f.mtime)
	}
	if f := got["/etc/old"]; !f.mtime.Equal(commitTime) {
		t.Errorf("/etc/old mtime %s: every time the build wrote is the commit's, older ones too", f.mtime)
	}
	if c, _ := Normalize(first, stamp(t, commitTime.Add(time.Hour))); digest(t, c) == digest(t, a) {
		t.Error("another epoch gave the same digest")
	}
	if c, _ := Normalize(build(t, time.Now(), "other binary"), s); digest(t, c) == digest(t, a) {
		t.Error("other content gave the same digest")
	}
	if _, err := Normalize(first, Stamp{}); err == nil {
		t.Error("normalize without an epoch succeeded")
	}
	// Without the base, its layer is stamped too: still one digest for both builds.
	n1, _ := Normalize(first, Stamp{Epoch: commitTime})
	n2, _ := Normalize(second, Stamp{Epoch: commitTime})
	if digest(t, n1) != digest(t, n2) || digest(t, n1) == digest(t, a) {
		t.Error("without the base: the builds differ, or the base layer was kept")
	}
	other := Stamp{Epoch: commitTime, Base: map[string][]v1.Hash{"linux/amd64": {mustDigest(t, layerOf(t, file{name: "x", content: "y", mtime: baseTime}))}}}
	if _, err := Normalize(first, other); err == nil || !strings.Contains(err.Error(), "another base image") {
		t.Errorf("normalize on another base: %v", err)
	}
}

func mustDigest(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// exported writes what Dagger's asTarball would: an OCI tarball of the images.
func exported(t *testing.T, at time.Time, imgs ...v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		p := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}[i]
		if err := lp.AppendImage(img, layout.WithPlatform(p)); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "exported.tar")
	if err := tarDir(dir, out, at); err != nil {
		t.Fatal(err)
	}
	return out
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestNormalizeTarballWritesTheSameBytes(t *testing.T) {
	for _, platforms := range []int{1, 2} {
		var sums [][32]byte
		var digests []v1.Hash
		for _, at := range []time.Time{time.Now(), time.Now().Add(30 * 24 * time.Hour)} {
			imgs := []v1.Image{build(t, at, "amd64 binary"), build(t, at, "arm64 binary")}[:platforms]
			out := filepath.Join(t.TempDir(), "release.tar")
			d, err := NormalizeTarball(exported(t, at, imgs...), out, stamp(t, commitTime))
			if err != nil {
				t.Fatal(err)
			}
			sums, digests = append(sums, sum(t, out)), append(digests, d)
		}
		if sums[0] != sums[1] || digests[0] != digests[1] {
			t.Errorf("%d platform(s): two builds gave tarballs %x and %x, digests %s and %s", platforms, sums[0][:6], sums[1][:6], digests[0], digests[1])
		}
	}
}

func TestDiffNamesWhatDiffers(t *testing.T) {
	at := time.Now()
	a, _ := Normalize(build(t, at, "binary"), stamp(t, commitTime))
	b, _ := Normalize(build(t, at, "patched binary"), stamp(t, commitTime.Add(time.Hour)))
	if d, err := Diff(Artifact{Image: a}, Artifact{Image: a}); err != nil || d != nil {
		t.Fatalf("an image differs from itself: %v %v", d, err)
	}
	diffs, err := Diff(Artifact{Image: a}, Artifact{Image: b})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(diffs, "\n")
	for _, want := range []string{
		"linux/amd64: manifest sha256:",
		"linux/amd64: config.created: \"2026-11-30T12:00:00Z\" ≠ \"2026-11-30T13:00:00Z\"",
		"linux/amd64: config.history[1].created:",
		"linux/amd64: layer 2: /server: content sha256:",
		"size 6 ≠ 14",
		"mtime 2026-11-30T12:00:00Z ≠ 2026-11-30T13:00:00Z",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the diff lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "layer 1:") {
		t.Errorf("the equal base layer is listed:\n%s", got)
	}
	// A platform only one side has.
	one := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	two := mutate.AppendManifests(one, mutate.IndexAddendum{Add: b, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	diffs, err = Diff(Artifact{Index: one}, Artifact{Index: two})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || diffs[0] != "linux/arm64: only in the second" {
		t.Errorf("index diff = %q", diffs)
	}
}
