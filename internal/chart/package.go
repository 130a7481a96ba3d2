package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Package writes ch as <name>-<version>.tgz into dir, as `helm package` does,
// but with every file's time set to epoch (the commit's, SOURCE_DATE_EPOCH):
// Helm stamps each with the time of packaging, so two packages of one chart
// never had the same bytes. Everything else (entry order, gzip header, the
// Helm marker) stays as Helm writes it.
func Package(ch *helmchart.Chart, dir string, epoch time.Time) (string, error) {
	path, err := chartutil.Save(ch, dir)
	if err != nil {
		return "", fmt.Errorf("package: %w", err)
	}
	packaged, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	stamped, err := stampArchive(packaged, epoch)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", path, err)
	}
	return path, os.WriteFile(path, stamped, 0o644)
}

// stampArchive rewrites a gzipped tar with every entry's time set to epoch.
func stampArchive(archive []byte, epoch time.Time) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Header = zr.Header
	tr, tw := tar.NewReader(zr), tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		h.ModTime, h.AccessTime, h.ChangeTime = epoch.UTC().Truncate(time.Second), time.Time{}, time.Time{}
		h.Format = tar.FormatUnknown
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// DiffPublished compares a packaged chart with the one published at ref
// (oci://host/path/name:version or …@sha256:…): nothing when the bytes are
// the same, else how the archives differ, file by file.
func DiffPublished(packagePath, ref string, o PushOptions) ([]string, error) {
	local, err := os.ReadFile(packagePath)
	if err != nil {
		return nil, err
	}
	repo, ok := strings.CutPrefix(ref, "oci://")
	if !ok {
		return nil, fmt.Errorf("chart reference %q must start with oci://", ref)
	}
	client, err := o.client(repo)
	if err != nil {
		return nil, err
	}
	res, err := client.Pull(repo)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	if bytes.Equal(res.Chart.Data, local) {
		return nil, nil
	}
	published, err := archiveFiles(res.Chart.Data)
	if err != nil {
		return nil, fmt.Errorf("published chart: %w", err)
	}
	rebuilt, err := archiveFiles(local)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", packagePath, err)
	}
	diffs := []string{fmt.Sprintf("archive sha256:%x ≠ sha256:%x", sha256.Sum256(res.Chart.Data), sha256.Sum256(local))}
	names := slices.Sorted(maps.Keys(published))
	for n := range rebuilt {
		if _, ok := published[n]; !ok {
			names = append(names, n)
		}
	}
	for _, n := range names {
		p, inP := published[n]
		r, inR := rebuilt[n]
		switch {
		case !inR:
			diffs = append(diffs, n+": only in the first")
		case !inP:
			diffs = append(diffs, n+": only in the second")
		case p != r:
			diffs = append(diffs, fmt.Sprintf("%s: %s ≠ %s", n, p, r))
		}
	}
	return diffs, nil
}

// archiveFiles describes each entry of a gzipped tar: content digest, mode, time.
func archiveFiles(archive []byte) (map[string]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, err
		}
		out[h.Name] = fmt.Sprintf("content sha256:%x mode %#o time %s", sum.Sum(nil)[:6], h.Mode, h.ModTime.UTC().Format(time.RFC3339))
	}
}
