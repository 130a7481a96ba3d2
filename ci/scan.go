package main

import (
	"context"
	"slices"
	"strconv"
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

// Sbom returns CycloneDX SBOMs of both images: backend.cdx.json, frontend.cdx.json.
func (m *TodoApp) Sbom() *dagger.Directory {
	return dag.Directory().
		WithFile("backend.cdx.json", m.sbom(m.BackendImage("", "sbom", "sbom"), "backend")).
		WithFile("frontend.cdx.json", m.sbom(m.FrontendImage("", "sbom", "sbom"), "frontend"))
}

// sbom is the CycloneDX SBOM of an image, as Trivy reads its tarball.
func (m *TodoApp) sbom(img *dagger.Container, name string) *dagger.File {
	out := "/out/" + name + ".cdx.json"
	return m.trivy().
		WithMountedFile("/in/image.tar", img.AsTarball()).
		// Trivy creates no folders, and its image has no /out.
		WithDirectory("/out", dag.Directory()).
		WithExec([]string{"trivy", "image", "--input", "/in/image.tar", "--format", "cyclonedx", "--output", out}).
		File(out)
}
