package pipelinetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/todo-app/todo-app/internal/images"
)

// Release is what release.json says of a release (`dagger call release`).
type Release struct {
	Commit          string            `json:"commit"`
	SourceDateEpoch int64             `json:"sourceDateEpoch"`
	Images          map[string]string `json:"images"` // name → digest
	Chart           string            `json:"chart"`
}

// CheckRelease checks a release folder: release.json names the commit and
// its time, SHA256SUMS lists every other file with its right sum, each image
// tarball holds the image of the digest release.json gives, and the SBOMs
// are CycloneDX documents.
func CheckRelease(dir, commit string, epoch int64) (Release, error) {
	var r Release
	b, err := os.ReadFile(filepath.Join(dir, "release.json"))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("release.json: %w", err)
	}
	if r.Commit != commit || r.SourceDateEpoch != epoch {
		return r, fmt.Errorf("release.json: commit %s at %d, want %s at %d (the commit's time)", r.Commit, r.SourceDateEpoch, commit, epoch)
	}
	sums, err := Checksums(dir)
	if err != nil {
		return r, err
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			if rel != "SHA256SUMS" {
				files = append(files, filepath.ToSlash(rel))
			}
		}
		return err
	})
	if err != nil {
		return r, err
	}
	slices.Sort(files)
	if listed := slices.Sorted(func(yield func(string) bool) {
		for f := range sums {
			if !yield(f) {
				return
			}
		}
	}); !slices.Equal(listed, files) {
		return r, fmt.Errorf("SHA256SUMS lists %v, the folder holds %v", listed, files)
	}
	for f, want := range sums {
		got, err := fileSum(filepath.Join(dir, f))
		if err != nil {
			return r, err
		}
		if got != want {
			return r, fmt.Errorf("%s: sha256 %s, SHA256SUMS says %s", f, got, want)
		}
	}
	for name, want := range r.Images {
		err := images.OpenTarball(filepath.Join(dir, name+".oci.tar"), func(a images.Artifact) error {
			got, err := a.Digest()
			if err != nil {
				return err
			}
			if got.String() != want {
				return fmt.Errorf("%s.oci.tar holds %s, release.json says %s", name, got, want)
			}
			return nil
		})
		if err != nil {
			return r, err
		}
		doc, err := os.ReadFile(filepath.Join(dir, "sbom", name+".cdx.json"))
		if err != nil {
			return r, err
		}
		if _, err := SBOM(doc); err != nil {
			return r, fmt.Errorf("sbom/%s.cdx.json: %w", name, err)
		}
	}
	if len(r.Images) != 2 || sums[r.Chart] == "" {
		return r, fmt.Errorf("release.json names images %v and chart %q, want both images and a packaged chart", r.Images, r.Chart)
	}
	return r, nil
}

// Checksums reads a folder's SHA256SUMS (sha256sum's format): file → sum.
func Checksums(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		sum, file, ok := strings.Cut(s.Text(), "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("SHA256SUMS: bad line %q", s.Text())
		}
		sums[file] = sum
	}
	return sums, s.Err()
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CompareReleases lists how two release folders differ: each file whose
// sum differs and, for an image tarball, what differs inside it.
func CompareReleases(a, b string) ([]string, error) {
	sa, err := Checksums(a)
	if err != nil {
		return nil, err
	}
	sb, err := Checksums(b)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for f := range sa {
			if !yield(f) {
				return
			}
		}
	}) {
		if sa[f] == sb[f] {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: sha256 %.12s ≠ %.12s", f, sa[f], sb[f]))
		if strings.HasSuffix(f, ".oci.tar") {
			inner, err := diffTarballs(filepath.Join(a, f), filepath.Join(b, f))
			if err != nil {
				return nil, err
			}
			for _, d := range inner {
				diffs = append(diffs, "  "+d)
			}
		}
	}
	for f := range sb {
		if _, ok := sa[f]; !ok {
			diffs = append(diffs, f+": only in the second")
		}
	}
	return diffs, nil
}

func diffTarballs(a, b string) ([]string, error) {
	var diffs []string
	err := images.OpenTarball(a, func(first images.Artifact) error {
		return images.OpenTarball(b, func(second images.Artifact) error {
			var err error
			diffs, err = images.Diff(first, second)
			return err
		})
	})
	return diffs, err
}

// TamperedImage writes, as an OCI tarball, the image of a one-image tarball
// with its /server changed, as a build from a changed tree would have it,
// and returns its digest.
func TamperedImage(in, out string) (string, error) {
	var digest string
	err := images.OpenTarball(in, func(a images.Artifact) error {
		if a.Image == nil {
			return errors.New("want a tarball of one image")
		}
		layers, err := a.Image.Layers()
		if err != nil {
			return err
		}
		for i, l := range layers {
			changed, ok, err := withChangedServer(l)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			cfg, err := a.Image.ConfigFile()
			if err != nil {
				return err
			}
			layers[i] = changed
			tampered, err := images.WithLayers(a.Image, layers, cfg)
			if err != nil {
				return err
			}
			d, err := tampered.Digest()
			if err != nil {
				return err
			}
			digest = d.String()
			return images.WriteTarball(images.Artifact{Image: tampered}, out, cfg.Created.Time)
		}
		return errors.New("no layer holds /server")
	})
	return digest, err
}

// withChangedServer is l with /server's content changed, when l holds it.
func withChangedServer(l v1.Layer) (v1.Layer, bool, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(rc), tar.NewWriter(&buf)
	found := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, err
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			return nil, false, err
		}
		if strings.TrimPrefix(h.Name, "./") == "server" {
			content = append(content, []byte("\x00a line changed in the tree")...)
			h.Size, found = int64(len(content)), true
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, false, err
		}
		if _, err := tw.Write(content); err != nil {
			return nil, false, err
		}
	}
	if !found {
		return nil, false, nil
	}
	if err := tw.Close(); err != nil {
		return nil, false, err
	}
	data := buf.Bytes()
	mt, err := l.MediaType()
	if err != nil {
		return nil, false, err
	}
	changed, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(mt))
	return changed, true, err
}

// ProvenancePredicate is the SLSA provenance predicate among attestations
// as cosign verify-attestation prints them (DSSE envelopes, one a line).
func ProvenancePredicate(envelopes string) ([]byte, error) {
	for _, line := range strings.Split(strings.TrimSpace(envelopes), "\n") {
		var envelope struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal([]byte(line), &envelope) != nil || envelope.Payload == "" {
			continue
		}
		payload, err := base64.StdEncoding.DecodeString(envelope.Payload)
		if err != nil {
			return nil, err
		}
		var statement struct {
			PredicateType string          `json:"predicateType"`
			Predicate     json.RawMessage `json:"predicate"`
		}
		if json.Unmarshal(payload, &statement) == nil && statement.PredicateType == "https://slsa.dev/provenance/v1" {
			return statement.Predicate, nil
		}
	}
	return nil, errors.New("no SLSA provenance among the attestations")
}
