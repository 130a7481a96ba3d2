package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// trivy is Trivy with its vulnerability database in a cache volume of its
// own per database source (a mirror's "next update" must not outlive a switch
// back), refreshed at most daily (the date in the environment changes the
// cache key once a day).
func (m *TodoApp) trivy() *dagger.Container {
	source := strings.Join(m.TrivyDbRepository, ",")
	sum := sha256.Sum256([]byte(source))
	c := dag.Container().From(m.TrivyImage).
		WithMountedCache("/root/.cache/trivy", dag.CacheVolume("todo-app-trivy-"+hex.EncodeToString(sum[:6])),
			dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithEnvVariable("TRIVY_DAY", time.Now().UTC().Format(time.DateOnly))
	if source != "" {
		c = c.WithEnvVariable("TRIVY_DB_REPOSITORY", source)
	}
	return c
}

// Scan runs Trivy on both images (as tarballs, no registry) and a
// configuration scan of the chart (rendered with the prod values) and both
// Dockerfiles. Each part reports its findings counted by severity and, in a
// table, those at the threshold or above (package, installed, fixed,
// advisory), which fail it; findings that .trivyignore.yaml (at the
// repository's root, every entry with a statement and an expired_at) accepts
// are listed with their statement. A scan Trivy could not run, or that
// skipped a target, fails too, saying why.
// +cache="never"
// +check
func (m *TodoApp) Scan(
	ctx context.Context,
	// Lowest severity that fails the scan: UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL.
	// +optional
	// +default="CRITICAL"
	severity string,
	// Parts to scan: backend and frontend (the images' packages), config; all when empty.
	// +optional
	only []string,
) (string, error) {
	threshold, parts, err := scanArgs(severity, only)
	if err != nil {
		return "", err
	}
	ignore, err := m.ignoreFile(ctx)
	if err != nil {
		return "", err
	}
	results := make([]pipeline.ScanResult, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() {
			start := time.Now()
			report, err := m.scanPart(ctx, part, ignore)
			results[i] = pipeline.ScanResult{Part: part, Duration: time.Since(start), Report: report, Err: err}
		})
	}
	wg.Wait()
	return pipeline.ScanSummary(threshold, results)
}

// Sarif returns what scan finds as SARIF, one report per part
// (backend.sarif, frontend.sarif, config.sarif), for GitHub code scanning.
// It does not fail on findings: scan is the gate.
// +cache="never"
func (m *TodoApp) Sarif(
	ctx context.Context,
	// Parts to scan: backend, frontend, config; all when empty.
	// +optional
	only []string,
) (*dagger.Directory, error) {
	_, parts, err := scanArgs("UNKNOWN", only)
	if err != nil {
		return nil, err
	}
	ignore, err := m.ignoreFile(ctx)
	if err != nil {
		return nil, err
	}
	out := dag.Directory()
	for _, part := range parts {
		scan, err := m.trivyRun(ctx, part, ignore)
		if err != nil {
			return nil, err
		}
		sarif := scan.WithExec([]string{"trivy", "convert", "--format", "sarif", "--output", "/out/" + part + ".sarif", "/out/report.json"}).
			File("/out/" + part + ".sarif")
		out = out.WithFile(part+".sarif", sarif)
	}
	return out, nil
}

func scanArgs(severity string, only []string) (string, []string, error) {
	threshold, err := pipeline.Threshold(severity)
	if err != nil {
		return "", nil, err
	}
	parts, err := pipeline.ScanParts(only)
	return threshold, parts, err
}

// ignoreFile is the repository's .trivyignore.yaml, checked; nil without one.
func (m *TodoApp) ignoreFile(ctx context.Context) (*dagger.File, error) {
	exists, err := m.Source.Exists(ctx, pipeline.IgnoreFile, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil || !exists {
		return nil, err
	}
	f := m.Source.File(pipeline.IgnoreFile)
	data, err := f.Contents(ctx)
	if err != nil {
		return nil, err
	}
	return f, pipeline.CheckIgnoreFile([]byte(data))
}

// scanPart scans one part and reads what Trivy found.
func (m *TodoApp) scanPart(ctx context.Context, part string, ignore *dagger.File) (pipeline.ScanReport, error) {
	scan, err := m.trivyRun(ctx, part, ignore)
	if err != nil {
		return pipeline.ScanReport{}, err
	}
	data, err := scan.File("/out/report.json").Contents(ctx)
	if err != nil {
		return pipeline.ScanReport{}, err
	}
	report, err := pipeline.ReadTrivyReport(part, []byte(data))
	if err != nil {
		return pipeline.ScanReport{}, err
	}
	if part == "config" {
		// Trivy skips what it cannot read (a chart it cannot render) and still exits 0.
		for _, target := range pipeline.ConfigScanTargets {
			if !slices.Contains(report.Targets, target) {
				stderr, _ := scan.Stderr(ctx)
				return report, fmt.Errorf("trivy did not scan %s, so it was not checked:\n%s", target, pipeline.Tail(stderr, 30))
			}
		}
	}
	return report, nil
}

// trivyRun runs Trivy on one part, every severity, into /out/report.json (JSON),
// and fails when Trivy could not scan.
func (m *TodoApp) trivyRun(ctx context.Context, part string, ignore *dagger.File) (*dagger.Container, error) {
	c := m.trivy().WithDirectory("/out", dag.Directory())
	flags := []string{"--severity", strings.Join(pipeline.TrivySeverities, ","), "--format", "json", "--output", "/out/report.json",
		"--exit-code", "0"}
	if ignore != nil {
		c = c.WithMountedFile("/in/"+pipeline.IgnoreFile, ignore)
		flags = append(flags, "--ignorefile", "/in/"+pipeline.IgnoreFile)
	}
	var args []string
	switch part {
	case "backend", "frontend":
		c = c.WithMountedFile("/in/image.tar", m.image("todo-"+part, "", "scan", "scan").AsTarball())
		// Only image scans list what the ignore file hid (trivy config has no --show-suppressed).
		args = append([]string{"trivy", "image", "--input", "/in/image.tar", "--ignore-unfixed", "--no-progress", "--show-suppressed"}, flags...)
	default:
		c = c.WithDirectory("/src", m.Source, dagger.ContainerWithDirectoryOpts{
			Include: []string{"helm-chart/**", "backend/Dockerfile", "frontend/Dockerfile"}})
		args = append(append(append([]string{"trivy", "config"}, flags...), pipeline.TrivyHelmFlags("/src/helm-chart/values-prod.yaml")...), "/src")
	}
	scan := c.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := scan.ExitCode(ctx)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		stderr, _ := scan.Stderr(ctx)
		return nil, fmt.Errorf("trivy could not scan %s (exit %d), so nothing was checked:\n%s", part, code, pipeline.Tail(stderr, 30))
	}
	return scan, nil
}

// Sbom returns the CycloneDX SBOMs of both images as release builds them
// (from the commit HEAD names, for the engine's platform): backend.cdx.json,
// frontend.cdx.json, the same bytes as the release's sbom/ with the same
// version. The same commit gives the same bytes: bom-refs and the serial
// number are derived from the content, the timestamp is the commit's.
func (m *TodoApp) Sbom(
	ctx context.Context,
	// The release's version, which its images' labels carry (see release); the short commit when empty.
	// +optional
	version string,
	// The git repository whose HEAD commit's images are described.
	// +defaultPath="/"
	git *dagger.GitRepository,
) (*dagger.Directory, error) {
	r, err := m.newRelease(ctx, git.Head(), version, nil, "")
	if err != nil {
		return nil, err
	}
	out := dag.Directory()
	for _, b := range r.images {
		sbom, err := r.sbom(ctx, m, b)
		if err != nil {
			return nil, err
		}
		out = out.WithFile(strings.TrimPrefix(b.Image, "todo-")+".cdx.json", sbom)
	}
	return out, nil
}

// sbom is the CycloneDX SBOM of an image tarball (one platform), as Trivy
// reads it, made reproducible with the commit's time by the deploy tool of tools.
func (m *TodoApp) sbom(tools *dagger.Container, tarball *dagger.File, name string, epoch int64) *dagger.File {
	scanned := m.trivy().
		WithMountedFile("/in/image.tar", tarball).
		// Trivy creates no folders, and its image has no /out.
		WithDirectory("/out", dag.Directory()).
		WithExec([]string{"trivy", "image", "--input", "/in/image.tar", "--format", "cyclonedx", "--output", "/out/trivy.json"}).
		File("/out/trivy.json")
	out := "/out/" + name + ".cdx.json"
	return tools.
		WithDirectory("/out", dag.Directory()).
		WithFile("/work/trivy.json", scanned).
		WithExec([]string{"todoctl", "normalize-sbom", "--package", "trivy.json", "--out", out,
			"--source-date-epoch", strconv.FormatInt(epoch, 10)}).
		File(out)
}
