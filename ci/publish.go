package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Publish pushes both images (tagged with the version and the short commit,
// for every platform asked) and the chart as an OCI artifact. Everything is
// pushed by the deploy tool from a container, so a registry on this machine
// works through --registry-service on every engine, as a remote one does.
// Returns the references with digests.
// +cache="never"
func (m *TodoApp) Publish(
	ctx context.Context,
	// Registry and namespace, e.g. ghcr.io/acme.
	registry string,
	// Registry user; anonymous when empty.
	// +optional
	username string,
	// Registry password or token.
	// +optional
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
	// The registry as a service, for one that containers cannot reach by its
	// address, such as one on this machine: --registry=localhost:5000/acme
	// --registry-service=tcp://localhost:5000 (spoken to over plain http).
	// +optional
	registryService *dagger.Service,
) (string, error) {
	tags, err := pipeline.Tags(version, commit)
	if err != nil {
		return "", err
	}
	route, err := pipeline.NewRegistryRoute(registry, registryService != nil)
	if err != nil {
		return "", err
	}
	pusher := m.pusher(route, username, password, registryService)
	// Labels get the full commit; tags its first 7 characters.
	refs, err := m.pushImages(ctx, pusher, route, tags, imageBuild{tags[0], cmp.Or(commit, "unknown"), platforms})
	if err != nil {
		return "", err
	}
	chartFile, err := m.Chart(ctx)
	if err != nil {
		return "", err
	}
	args := []string{"todoctl", "push", "--package", "chart.tgz", "--ref", pipeline.ChartRepo(route.Push)}
	chartRef, err := pusher.
		WithFile("/work/chart.tgz", chartFile).
		WithExec([]string{"sh", "-c", pipeline.ShellLine(append(args, route.Flags()...))}).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("push chart: %w", describe(err))
	}
	return strings.Join(append(refs, route.Public(strings.TrimSpace(chartRef))), "\n") + "\n", nil
}

// pusher is the deploy tool with the registry's credentials (the password as
// a secret) and, for a tunnelled registry, its service bound. Every push must
// reach the registry, so each run's execs are its own, never cached.
func (m *TodoApp) pusher(route pipeline.RegistryRoute, username string, password *dagger.Secret, tunnel *dagger.Service) *dagger.Container {
	c := m.toolbox().
		WithEnvVariable("PUBLISH_RUN", rand.Text()).
		WithEnvVariable("REGISTRY_USERNAME", username)
	if password != nil {
		c = c.WithSecretVariable("REGISTRY_PASSWORD", password)
	}
	if tunnel != nil {
		c = c.WithServiceBinding(pipeline.RegistryTunnelHost, tunnel)
	}
	return c
}

// imageBuild is what both images are built with: the version and commit
// stamped into them, and the platforms (the engine's own when none).
type imageBuild struct {
	version, commit string
	platforms       []dagger.Platform
}

// pushImages publishes both images under every tag and returns ref@digest for each.
func (m *TodoApp) pushImages(ctx context.Context, pusher *dagger.Container, route pipeline.RegistryRoute, tags []string, b imageBuild) ([]string, error) {
	platforms := b.platforms
	if len(platforms) == 0 {
		platforms = []dagger.Platform{""}
	}
	var refs []string
	for _, name := range []string{pipeline.BackendImage, pipeline.FrontendImage} {
		var variants []*dagger.Container
		for _, p := range platforms {
			if name == pipeline.BackendImage {
				variants = append(variants, m.BackendImage(p, b.version, b.commit))
			} else {
				variants = append(variants, m.FrontendImage(p, b.version, b.commit))
			}
		}
		// Dagger v0.19.10's builds drop HEALTHCHECK (dagger/dagger#9515): the push restores the Dockerfile's.
		dockerfile := m.Source.File("backend/Dockerfile")
		if name == pipeline.FrontendImage {
			dockerfile = m.Frontend.File("Dockerfile")
		}
		args := []string{"todoctl", "push-image", "--package", "image.tar", "--dockerfile", "Dockerfile",
			"--ref", pipeline.ImageRef(route.Push, name, "")}
		for _, tag := range tags {
			args = append(args, "--tag", tag)
		}
		out, err := pusher.
			WithFile("/work/image.tar", dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants})).
			WithFile("/work/Dockerfile", dockerfile).
			WithExec([]string{"sh", "-c", pipeline.ShellLine(append(args, route.Flags()...))}).
			Stdout(ctx)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", name, describe(err))
		}
		for _, ref := range strings.Fields(out) {
			refs = append(refs, route.Public(ref))
		}
	}
	return refs, nil
}
