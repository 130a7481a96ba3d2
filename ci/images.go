package main

import (
	"maps"
	"slices"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// BackendImage builds the Go API's image from backend/Dockerfile, the same
// recipe docker and compose use, from the working tree. (Dagger stamps the
// time of the build into what it exports: release builds the reproducible one.)
func (m *TodoApp) BackendImage(
	// Target platform, e.g. linux/arm64; the engine's own when empty.
	// +optional
	platform dagger.Platform,
	// Version stamped into the binary and image labels.
	// +optional
	// +default="dev"
	version string,
	// Commit stamped into the binary and image labels.
	// +optional
	// +default="unknown"
	commit string,
) *dagger.Container {
	return m.workingTree().image(pipeline.BackendImage, platform, map[string]string{"VERSION": version, "COMMIT": commit})
}

// FrontendImage builds the Next.js app's image from frontend/Dockerfile, from
// the working tree. (release builds the reproducible one.)
func (m *TodoApp) FrontendImage(
	// Target platform, e.g. linux/arm64; the engine's own when empty.
	// +optional
	platform dagger.Platform,
	// Version recorded in the image labels.
	// +optional
	// +default="dev"
	version string,
	// Commit recorded in the image labels.
	// +optional
	// +default="unknown"
	commit string,
) *dagger.Container {
	return m.workingTree().image(pipeline.FrontendImage, platform, map[string]string{"VERSION": version, "COMMIT": commit})
}

// devImage is an app's image as deploy and prove run it, whichever the
// cluster: one build with fixed labels, which an ephemeral cluster preloads
// and a deploy to a given cluster pushes, so that both share it.
func (m *TodoApp) devImage(name string) *dagger.Container {
	return m.image(name, "", "dev", "deploy")
}

// image is one of the two apps' images by name (pipeline.BackendImage or FrontendImage).
func (m *TodoApp) image(name string, platform dagger.Platform, version, commit string) *dagger.Container {
	return m.workingTree().image(name, platform, map[string]string{"VERSION": version, "COMMIT": commit})
}

// sources are what the images are built from: the repository (the backend's
// module, the chart, the deploy tool) and the frontend app.
type sources struct {
	root, frontend *dagger.Directory
}

// workingTree is the checkout as it is, uncommitted changes included.
func (m *TodoApp) workingTree() sources { return sources{m.Source, m.Frontend} }

// image builds an app's image with the Dockerfile's build arguments.
func (s sources) image(name string, platform dagger.Platform, args map[string]string) *dagger.Container {
	opts := dagger.DirectoryDockerBuildOpts{Platform: platform}
	// In a fixed order: the arguments are part of the build's cache key.
	for _, k := range slices.Sorted(maps.Keys(args)) {
		opts.BuildArgs = append(opts.BuildArgs, dagger.BuildArg{Name: k, Value: args[k]})
	}
	if name == pipeline.BackendImage {
		// The backend's module is its whole build context.
		return s.root.Directory("backend").DockerBuild(opts)
	}
	return s.frontend.DockerBuild(opts)
}

// dockerfile is the Dockerfile an app's image is built from.
func (s sources) dockerfile(name string) *dagger.File {
	if name == pipeline.BackendImage {
		return s.root.File("backend/Dockerfile")
	}
	return s.frontend.File("Dockerfile")
}

// frontendDeps is the frontend image's deps stage (node_modules installed)
// with the frontend's sources on top: where its checks run.
func (m *TodoApp) frontendDeps() *dagger.Container {
	return m.Frontend.
		DockerBuild(dagger.DirectoryDockerBuildOpts{Target: "deps"}).
		WithDirectory("/app", m.Frontend).
		WithEnvVariable("NEXT_TELEMETRY_DISABLED", "1").
		WithWorkdir("/app")
}
