package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// A release is built from a commit, never from the working tree, and every
// time in it is the commit's: the same commit gives the same bytes on any
// engine, any day. What each image is built from (the commit, its time, the
// version, the platforms, the base images by digest) goes into the
// provenance publish attaches, so that reproduce can build it again.

// releaseBuild is one commit's release: its files, and what each image is
// built from.
type releaseBuild struct {
	src    sources
	commit string
	epoch  int64
	images []pipeline.ImageBuild // the backend's, then the frontend's
}

// newRelease prepares the release of the commit ref names: its files, its
// time, and each Dockerfile's base images resolved to digests, which the
// build then uses, so that the provenance names exactly what was built on.
func (m *TodoApp) newRelease(ctx context.Context, ref *dagger.GitRef, version string, platforms []dagger.Platform, repository string) (*releaseBuild, error) {
	commit, err := ref.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("the commit to release: %w", err)
	}
	epoch, err := m.commitTime(ctx, ref)
	if err != nil {
		return nil, err
	}
	tags, err := pipeline.Tags(version, commit)
	if err != nil {
		return nil, err
	}
	if len(platforms) == 0 {
		p, err := dag.DefaultPlatform(ctx)
		if err != nil {
			return nil, err
		}
		platforms = []dagger.Platform{p}
	}
	var names []string
	for _, p := range platforms {
		names = append(names, string(p))
	}
	r := &releaseBuild{src: commitTree(ref), commit: commit, epoch: epoch}
	for _, image := range []string{pipeline.BackendImage, pipeline.FrontendImage} {
		dockerfile, err := r.src.dockerfile(image).Contents(ctx)
		if err != nil {
			return nil, err
		}
		bases := map[string]string{}
		for arg, base := range pipeline.BaseImageArgs(dockerfile) {
			if bases[arg], err = dag.Container().From(base).ImageRef(ctx); err != nil {
				return nil, fmt.Errorf("resolve base image %s: %w", base, err)
			}
		}
		// Labels get the version, or the short commit without one.
		r.images = append(r.images, pipeline.ImageBuild{Image: image, Repository: repository, Commit: commit,
			SourceDateEpoch: epoch, Version: tags[0], Platforms: names, BaseImages: bases})
	}
	return r, nil
}

// releaseFromProvenance prepares the builds a provenance recorded, from the
// commit ref names, which must be the one they name.
func releaseFromProvenance(ctx context.Context, ref *dagger.GitRef, builds []pipeline.ImageBuild) (*releaseBuild, error) {
	head, err := ref.Commit(ctx)
	if err != nil {
		return nil, err
	}
	r := &releaseBuild{src: commitTree(ref), commit: head, images: builds}
	for _, b := range builds {
		if b.Commit != head {
			return nil, fmt.Errorf("%s was built from commit %s, but this checkout is at %s: the recipe (Dockerfiles, "+
				"this module, the deploy tool) is part of the build, so reproduce from that commit: git checkout %s", b.Image, b.Commit, head, b.Commit)
		}
		r.epoch = b.SourceDateEpoch
	}
	return r, nil
}

// commitTree is the commit's files, without .git: what a fresh clone holds.
func commitTree(ref *dagger.GitRef) sources {
	tree := ref.Tree(dagger.GitRefTreeOpts{DiscardGitDir: true})
	return sources{tree, tree.Directory("frontend")}
}

// commitTime is the commit's time (SOURCE_DATE_EPOCH), as git records it.
func (m *TodoApp) commitTime(ctx context.Context, ref *dagger.GitRef) (int64, error) {
	out, err := dag.Container().From(m.GoImage).
		WithExec([]string{"apk", "add", "--no-cache", "git"}).
		WithMountedDirectory("/repo", ref.Tree()).
		WithWorkdir("/repo").
		WithExec([]string{"git", "-c", "safe.directory=*", "log", "-1", "--format=%ct"}).
		Stdout(ctx)
	if err != nil {
		return 0, fmt.Errorf("the commit's time: %w", describe(err))
	}
	return pipeline.ParseEpoch(out)
}

// toolbox is the deploy tool and the chart of the commit itself: its
// normalizer is part of the recipe.
func (r *releaseBuild) toolbox(m *TodoApp) *dagger.Container {
	return m.toolboxOf(r.src.root)
}

// image builds one image of the release for the platforms given and makes it
// reproducible (todoctl normalize-image): an OCI tarball, with its digest.
func (r *releaseBuild) image(ctx context.Context, m *TodoApp, b pipeline.ImageBuild, platforms []string) (*dagger.File, string, error) {
	dockerfile, err := r.src.dockerfile(b.Image).Contents(ctx)
	if err != nil {
		return nil, "", err
	}
	arg, err := pipeline.FinalBaseArg(dockerfile)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", b.Image, err)
	}
	// The base image, whose layers keep their times: they are the first of the image.
	var variants, bases []*dagger.Container
	for _, p := range platforms {
		variants = append(variants, r.src.image(b.Image, dagger.Platform(p), b.BuildArgs()))
		bases = append(bases, dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(p)}).From(b.BaseImages[arg]))
	}
	out := "/out/" + b.Image + ".tar"
	c := r.toolbox(m).
		WithDirectory("/out", dag.Directory()).
		WithFile("/work/image.tar", dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants})).
		WithFile("/work/base.tar", dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: bases})).
		WithNewFile("/work/Dockerfile", dockerfile).
		WithExec([]string{"todoctl", "normalize-image", "--package", "image.tar", "--base", "base.tar", "--dockerfile", "Dockerfile",
			"--out", out, "--source-date-epoch", strconv.FormatInt(b.SourceDateEpoch, 10)})
	digest, err := c.Stdout(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("build %s: %w", b.Image, describe(err))
	}
	return c.File(out), strings.TrimSpace(digest), nil
}

// builtImage is an image of the release: its tarball (every platform), its
// digest, and, when asked, its SBOM.
type builtImage struct {
	name    string // pipeline.BackendImage or FrontendImage
	tarball *dagger.File
	digest  string
	sbom    *dagger.File
}

// allImages builds the release's images side by side, with their SBOMs when asked.
func (r *releaseBuild) allImages(ctx context.Context, m *TodoApp, withSBOM bool) ([]builtImage, error) {
	built := make([]builtImage, len(r.images))
	errs := make([]error, len(r.images))
	var wg sync.WaitGroup
	for i, b := range r.images {
		wg.Go(func() {
			img := builtImage{name: b.Image}
			if img.tarball, img.digest, errs[i] = r.image(ctx, m, b, b.Platforms); errs[i] != nil || !withSBOM {
				built[i] = img
				return
			}
			img.sbom, errs[i] = r.sbom(ctx, m, b)
			built[i] = img
		})
	}
	wg.Wait()
	return built, errors.Join(errs...)
}

// chart packages the release's chart, stamped with the commit's time.
func (r *releaseBuild) chart(ctx context.Context, m *TodoApp) (*dagger.File, error) {
	return m.packageChart(ctx, r.src.root, r.epoch)
}

// sbom is the CycloneDX SBOM of an image of the release, of its first
// platform, as Trivy reads the reproducible image.
func (r *releaseBuild) sbom(ctx context.Context, m *TodoApp, b pipeline.ImageBuild) (*dagger.File, error) {
	tarball, _, err := r.image(ctx, m, b, b.Platforms[:1])
	if err != nil {
		return nil, err
	}
	return m.sbom(r.toolbox(m), tarball, b.Image, b.SourceDateEpoch), nil
}

// Release builds what publish publishes, without publishing it: both images
// (OCI tarballs with every platform asked) and the packaged chart, from the
// commit the repository's HEAD names (committed files only), every time in
// them the commit's. The same commit and arguments give the same bytes on any
// engine, any day: release.json lists each artifact's digest, SHA256SUMS each
// file's, and the SBOMs are in sbom/.
func (m *TodoApp) Release(
	ctx context.Context,
	// Version, e.g. v1.2.3 (labels get 1.2.3); the short commit when empty.
	// +optional
	version string,
	// Platforms to build, e.g. linux/amd64,linux/arm64; the engine's own when empty.
	// +optional
	platforms []dagger.Platform,
	// Source repository, recorded in the provenance.
	// +optional
	// +default="https://github.com/todo-app/todo-app"
	repository string,
	// The git repository whose HEAD commit is released.
	// +defaultPath="/"
	git *dagger.GitRepository,
) (*dagger.Directory, error) {
	r, err := m.newRelease(ctx, git.Head(), version, platforms, repository)
	if err != nil {
		return nil, err
	}
	built, err := r.allImages(ctx, m, true)
	if err != nil {
		return nil, err
	}
	out := dag.Directory()
	manifest := pipeline.ReleaseManifest{Commit: r.commit, SourceDateEpoch: r.epoch, Images: map[string]string{}, Builds: r.images}
	for _, img := range built {
		out = out.WithFile(img.name+".oci.tar", img.tarball).WithFile("sbom/"+img.name+".cdx.json", img.sbom)
		manifest.Images[img.name] = img.digest
	}
	chart, err := r.chart(ctx, m)
	if err != nil {
		return nil, err
	}
	if manifest.Chart, err = chart.Name(ctx); err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	return m.withChecksums(out.WithFile(manifest.Chart, chart).WithNewFile("release.json", string(doc)+"\n")), nil
}

// withChecksums adds SHA256SUMS, sha256sum's lines for every file in dir.
func (m *TodoApp) withChecksums(dir *dagger.Directory) *dagger.Directory {
	sums := dag.Container().From(m.GoImage).
		WithMountedDirectory("/release", dir).
		WithWorkdir("/release").
		WithExec([]string{"sh", "-c", "find . -type f | sed 's,^\\./,,' | LC_ALL=C sort | xargs sha256sum > /SHA256SUMS"}).
		File("/SHA256SUMS")
	return dir.WithFile("SHA256SUMS", sums)
}
