package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Publish pushes both images (tagged with the version and the short commit,
// for every platform asked) and the chart as an OCI artifact. Returns the
// references with digests.
// +cache="never"
func (m *TodoApp) Publish(
	ctx context.Context,
	// Registry and namespace, e.g. ghcr.io/acme.
	registry string,
	// Registry user.
	username string,
	// Registry password or token.
	password *dagger.Secret,
	// Version, e.g. v1.2.3 (published as 1.2.3).
	// +optional
	version string,
	// Commit (published as its first 7 characters).
	// +optional
	commit string,
	// Platforms to build, e.g. linux/amd64,linux/arm64; the engine's own when empty.
	// +optional
	platforms []dagger.Platform,
) (string, error) {
	tags, err := pipeline.Tags(version, commit)
	if err != nil {
		return "", err
	}
	refs, err := m.pushImages(ctx, registry, username, password, tags, platforms)
	if err != nil {
		return "", err
	}
	chartFile, err := m.Chart(ctx)
	if err != nil {
		return "", err
	}
	chartRef, err := m.toolbox().
		WithFile("/work/chart.tgz", chartFile).
		WithEnvVariable("REGISTRY_USERNAME", username).
		WithSecretVariable("REGISTRY_PASSWORD", password).
		WithExec([]string{"todoctl", "push", "--package", "chart.tgz", "--ref", pipeline.ChartRepo(registry)}).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("push chart: %w", describe(err))
	}
	return strings.Join(append(refs, strings.TrimSpace(chartRef)), "\n") + "\n", nil
}

// pushImages publishes both images under every tag and returns ref@digest for each.
func (m *TodoApp) pushImages(ctx context.Context, registry, username string, password *dagger.Secret, tags []string, platforms []dagger.Platform) ([]string, error) {
	version, commit := tags[0], tags[len(tags)-1]
	if len(platforms) == 0 {
		platforms = []dagger.Platform{""}
	}
	var refs []string
	for _, name := range []string{pipeline.BackendImage, pipeline.FrontendImage} {
		var variants []*dagger.Container
		for _, p := range platforms {
			if name == pipeline.BackendImage {
				variants = append(variants, m.BackendImage(p, version, commit))
			} else {
				variants = append(variants, m.FrontendImage(p, version, commit))
			}
		}
		publisher := dag.Container()
		if username != "" && password != nil {
			publisher = publisher.WithRegistryAuth(pipeline.RegistryHost(registry), username, password)
		}
		for _, tag := range tags {
			ref, err := publisher.Publish(ctx, pipeline.ImageRef(registry, name, tag),
				dagger.ContainerPublishOpts{PlatformVariants: variants})
			if err != nil {
				return nil, fmt.Errorf("publish %s: %w", name, err)
			}
			refs = append(refs, ref)
		}
	}
	return refs, nil
}
