package main

import (
	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

func buildArgs(version, commit string) []dagger.BuildArg {
	return []dagger.BuildArg{{Name: "VERSION", Value: version}, {Name: "COMMIT", Value: commit}}
}

// BackendImage builds the Go API's image from backend/Dockerfile, the same
// recipe docker and compose use.
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
	return m.Source.DockerBuild(dagger.DirectoryDockerBuildOpts{
		Dockerfile: "backend/Dockerfile", Platform: platform, BuildArgs: buildArgs(version, commit)})
}

// FrontendImage builds the Next.js app's image from frontend/Dockerfile.
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
	return m.Frontend.DockerBuild(dagger.DirectoryDockerBuildOpts{
		Platform: platform, BuildArgs: buildArgs(version, commit)})
}

// image is one of the two apps' images by name (pipeline.BackendImage or FrontendImage).
func (m *TodoApp) image(name string, platform dagger.Platform, version, commit string) *dagger.Container {
	if name == pipeline.BackendImage {
		return m.BackendImage(platform, version, commit)
	}
	return m.FrontendImage(platform, version, commit)
}

// dockerfile is the Dockerfile an app's image is built from.
func (m *TodoApp) dockerfile(name string) *dagger.File {
	if name == pipeline.BackendImage {
		return m.Source.File("backend/Dockerfile")
	}
	return m.Frontend.File("Dockerfile")
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
