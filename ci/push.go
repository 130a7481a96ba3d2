package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// The push route, shared by publish and by deploy to an existing cluster:
// every push runs the deploy tool in a container, so a registry on the
// caller's machine works through a tunnel on every engine, as a remote one does.

// pusher is the deploy tool with the registry's credentials (the password as
// a secret) and, for a tunnelled registry, its service bound. Every push must
// reach the registry, so each run's execs are its own, never cached.
func (m *TodoApp) pusher(r registryAccess) *dagger.Container {
	c := m.toolbox().WithEnvVariable("PUBLISH_RUN", rand.Text())
	if r.auth != nil {
		c = c.WithEnvVariable("REGISTRY_USERNAME", r.auth.Username).
			WithSecretVariable("REGISTRY_PASSWORD", r.auth.Secret)
	}
	if r.tunnel != nil {
		c = c.WithServiceBinding(pipeline.RegistryTunnelHost, r.tunnel)
	}
	return c
}

// pushImages pushes each image tarball, as it is, under every tag, and
// returns ref@digest for each tag (under the registry's own address), and
// each image by digest as the push container reached it.
func (m *TodoApp) pushImages(ctx context.Context, pusher *dagger.Container, route pipeline.RegistryRoute, tags []string, images []builtImage) ([]string, []pipeline.PublishedImage, error) {
	var refs []string
	var published []pipeline.PublishedImage
	for _, img := range images {
		repo := pipeline.ImageRef(route.Push, img.name, "")
		args := []string{"todoctl", "push-image", "--package", "image.tar", "--ref", repo}
		for _, tag := range tags {
			args = append(args, "--tag", tag)
		}
		out, err := pusher.
			WithFile("/work/image.tar", img.tarball).
			WithExec(append(args, route.Flags()...)).
			Stdout(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("publish %s: %w", img.name, describe(err))
		}
		pushed := strings.Fields(out)
		if len(pushed) == 0 {
			return nil, nil, fmt.Errorf("publish %s: the push reported no reference", img.name)
		}
		for _, ref := range pushed {
			refs = append(refs, route.Public(ref))
		}
		_, digest, _ := strings.Cut(pushed[0], "@")
		published = append(published, pipeline.PublishedImage{Name: img.name, Ref: repo + "@" + digest})
	}
	return refs, published, nil
}
