package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Publish pushes the release of the commit the repository's HEAD names, as
// release builds it (the same bytes anywhere: rebuild it to check), both
// images tagged with the version and the short commit, for every platform
// asked, and the chart as an OCI artifact; then signs them and attests each
// image's SBOM and SLSA provenance (which records everything the image is
// built from) with cosign: with --cosign-key, or keyless in GitHub Actions.
// Everything is pushed from a container, so a registry on this machine works
// through --registry-service on every engine, as a remote one does. Returns
// the references with digests, how they were signed, and the --set lines that
// deploy exactly these images.
// +cache="never"
func (m *TodoApp) Publish(
	ctx context.Context,
	// Registry and namespace, e.g. ghcr.io/acme; its credentials through with-registry-auth.
	registry string,
	// Version, e.g. v1.2.3 (published as 1.2.3); without one, only the short commit tags the images.
	// +optional
	version string,
	// Platforms to build, e.g. linux/amd64,linux/arm64; the engine's own when empty.
	// +optional
	platforms []dagger.Platform,
	// The registry as a service, for one that containers cannot reach by its
	// address, such as one on this machine: --registry=localhost:5000/acme
	// --registry-service=tcp://localhost:5000 (spoken to over plain http).
	// +optional
	registryService *dagger.Service,
	// cosign private key (cosign generate-key-pair) to sign and attest with.
	// +optional
	cosignKey *dagger.Secret,
	// Password of the cosign key.
	// +optional
	cosignPassword *dagger.Secret,
	// GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL, to sign keyless as the workflow (id-token: write).
	// +optional
	githubOidcRequestUrl *dagger.Secret,
	// GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	// +optional
	githubOidcRequestToken *dagger.Secret,
	// Source repository, recorded in the provenance.
	// +optional
	// +default="https://github.com/todo-app/todo-app"
	repository string,
	// The git repository whose HEAD commit is published.
	// +defaultPath="/"
	git *dagger.GitRepository,
) (string, error) {
	route, err := pipeline.NewRegistryRoute(registry, registryService != nil)
	if err != nil {
		return "", err
	}
	r, err := m.newRelease(ctx, git.Head(), version, platforms, repository)
	if err != nil {
		return "", err
	}
	tags, err := pipeline.Tags(version, r.commit)
	if err != nil {
		return "", err
	}
	built, err := r.allImages(ctx, m, false)
	if err != nil {
		return "", err
	}
	access := m.access(route, registryService)
	pusher := m.pusher(access)
	refs, images, err := m.pushImages(ctx, pusher, route, tags, built)
	if err != nil {
		return "", err
	}
	chartFile, err := r.chart(ctx, m)
	if err != nil {
		return "", err
	}
	args := []string{"todoctl", "push", "--package", "chart.tgz", "--ref", pipeline.ChartRepo(route.Push),
		"--source-date-epoch", strconv.FormatInt(r.epoch, 10)}
	chartRef, err := pusher.
		WithFile("/work/chart.tgz", chartFile).
		WithExec(append(args, route.Flags()...)).
		Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("push chart: %w", describe(err))
	}
	chartRef = strings.TrimPrefix(strings.TrimSpace(chartRef), "oci://")
	signed, err := m.sign(ctx, signing{cosignKey, cosignPassword, githubOidcRequestUrl, githubOidcRequestToken}, access, r, images, chartRef)
	if err != nil {
		return "", err
	}
	public := make([]pipeline.PublishedImage, len(images))
	for i, img := range images {
		public[i] = pipeline.PublishedImage{Name: img.Name, Ref: route.Public(img.Ref)}
	}
	return fmt.Sprintf("%s\n\nbuilt from commit %s, stamped with its time (SOURCE_DATE_EPOCH=%d)\n%s\ndeploy exactly these images: %s\n",
		strings.Join(append(refs, "oci://"+route.Public(chartRef)), "\n"), r.commit, r.epoch, signed,
		strings.Join(pipeline.DeploySets(public), " ")), nil
}
