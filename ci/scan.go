package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// trivy is Trivy with its vulnerability database in a cache volume, refreshed
// at most daily (the date in the environment changes the cache key once a day).
func (m *TodoApp) trivy() *dagger.Container {
	return dag.Container().From(m.TrivyImage).
		WithMountedCache("/root/.cache/trivy", dag.CacheVolume("todo-app-trivy"),
			dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithEnvVariable("TRIVY_DAY", time.Now().UTC().Format(time.DateOnly))
}

// Scan runs Trivy on both images (as tarballs, no registry) and a
// configuration scan of the chart (rendered with the prod values) and both
// Dockerfiles. It fails when a finding reaches the severity threshold, or
// when Trivy cannot scan or skips a target (saying which), and returns the
// readable report.
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
	sev, err := pipeline.SeveritiesFrom(severity)
	if err != nil {
		return "", err
	}
	parts, err := pipeline.ScanParts(only)
	if err != nil {
		return "", err
	}
	image := func(name string, img *dagger.Container) step {
		return step{name, func(ctx context.Context) (string, error) {
			return expectClean(ctx, m.trivy().
				WithMountedFile("/in/image.tar", img.AsTarball()).
				WithExec([]string{"trivy", "image", "--input", "/in/image.tar", "--severity", sev,
					"--ignore-unfixed", "--no-progress", "--exit-code", strconv.Itoa(pipeline.TrivyFindingsExitCode)},
					dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}))
		}}
	}
	steps := []step{
		image("backend", m.BackendImage("", "scan", "scan")),
		image("frontend", m.FrontendImage("", "scan", "scan")),
		{"config", func(ctx context.Context) (string, error) {
			return expectClean(ctx, m.trivy().
				WithDirectory("/src", m.Source, dagger.ContainerWithDirectoryOpts{
					Include: []string{"helm-chart/**", "backend/Dockerfile", "frontend/Dockerfile"}}).
				WithExec(append([]string{"trivy", "config", "--severity", sev, "--exit-code", strconv.Itoa(pipeline.TrivyFindingsExitCode)},
					append(pipeline.TrivyHelmFlags("/src/helm-chart/values-prod.yaml"), "/src")...),
					dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}), pipeline.ConfigScanTargets...)
		}},
	}
	return runAll(ctx, slices.DeleteFunc(steps, func(s step) bool { return !slices.Contains(parts, s.name) }))
}

// expectClean returns a scan's report, as an error when Trivy found something
// at the threshold or could not scan at all; the two read differently.
func expectClean(ctx context.Context, scan *dagger.Container, covers ...string) (string, error) {
	code, err := scan.ExitCode(ctx)
	if err != nil {
		return "", err
	}
	report, err := scan.Stdout(ctx)
	if err != nil {
		return "", err
	}
	stderr, err := scan.Stderr(ctx)
	if err != nil {
		return "", err
	}
	return report, pipeline.ScanOutcome(code, report, stderr, covers...)
}

// Sbom returns the CycloneDX SBOMs of both images as release builds them
// (from the commit HEAD names, for the engine's platform): backend.cdx.json,
// frontend.cdx.json. The same commit gives the same bytes: bom-refs and the
// serial number are derived from the content, the timestamp is the commit's.
func (m *TodoApp) Sbom(
	ctx context.Context,
	// The git repository whose HEAD commit's images are described.
	// +defaultPath="/"
	git *dagger.GitRepository,
) (*dagger.Directory, error) {
	r, err := m.newRelease(ctx, git.Head(), "", nil, "")
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
