// The todo-app Dagger module: builds both images, tests, lints and scans them,
// packages and renders the Helm chart, deploy-tests everything in an
// ephemeral k3s, and publishes images and chart.
//
// Decisions live in the pipeline package (tested without an engine); the
// functions here only wire containers, caches and services.
package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// TodoApp is the todo-app pipeline.
type TodoApp struct {
	// +private
	Source *dagger.Directory
	// +private
	Frontend *dagger.Directory
	// +private
	GoImage string
	// +private
	PostgresImage string
	// +private
	ClusterImage string
	// +private
	TrivyImage string
	// +private
	ActionlintImage string
	// +private
	CosignImage string
	// +private
	TrivyDbRepository []string
	// +private
	RegistryAuths []*RegistryAuth
}

// New creates the pipeline for a checkout of the repository. Every image it
// uses is an argument: toolchains follow a minor line (golang:1.26-alpine
// gets Go's security fixes), released tools are pinned by tag and digest.
//
// The repository comes in two parts, each uploaded and cache-keyed by its own
// content, so that a change to one app reruns none of the other app's steps.
func New(
	// The repository without the frontend app and this module, but with the
	// files of theirs the Go tests check (the frontend's Dockerfile,
	// .dockerignore and .gitignore; ci/main.go), and ci/contract, a module the
	// root module requires: the Go module, chart,
	// workflows. Nothing .gitignore keeps out is uploaded (internal/testrig/
	// stackfiles checks it): no local secret, database or build output, and no
	// file a build rewrites.
	// +defaultPath="/"
	// +ignore=[".git", "ci/**", "!ci/main.go", "!ci/contract", "bin", "dist", ".local", "**/.env", "**/.env.local", "**/*.db", "**/*.db-shm", "**/*.db-wal", "**/*.test", "**/*.out", "**/coverage.*", "**/*.tar", "**/node_modules", "**/.next", "**/out", "**/.e2e", "**/test-results", "**/playwright-report", "**/*.tsbuildinfo", "**/next-env.d.ts", "**/.idea", "**/.vscode", "**/.DS_Store", "frontend/**", "!frontend/Dockerfile", "!frontend/.dockerignore", "!frontend/.gitignore"]
	source *dagger.Directory,
	// The frontend app (frontend/): its sources, tests and Dockerfile.
	// +defaultPath="/frontend"
	// +ignore=["**/.env", "**/.env.local", "**/data", "**/*.db", "**/*.db-*", "**/*.test", "**/*.out", "**/coverage.*", "**/*.tar", "**/node_modules", "**/.next", "**/out", "**/.e2e", "**/test-results", "**/playwright-report", "**/*.tsbuildinfo", "**/next-env.d.ts", "**/.idea", "**/.vscode", "**/.DS_Store"]
	frontend *dagger.Directory,
	// Go toolchain for the root module (backend tests, deploy tool).
	// +optional
	// +default="golang:1.26-alpine"
	goImage string,
	// PostgreSQL that the Go tests and the served stack run against.
	// +optional
	// +default="postgres:17-alpine"
	postgresImage string,
	// Kubernetes distribution (k3s) of the ephemeral deploy-test cluster.
	// +optional
	// +default="rancher/k3s:v1.33.4-k3s1"
	clusterImage string,
	// Trivy for vulnerability and configuration scans.
	// +optional
	// +default="aquasec/trivy:0.67.2@sha256:e2b22eac59c02003d8749f5b8d9bd073b62e30fefaef5b7c8371204e0a4b0c08"
	trivyImage string,
	// actionlint for the GitHub Actions workflows (the version make test runs).
	// +optional
	// +default="rhysd/actionlint:1.7.12@sha256:b1934ee5f1c509618f2508e6eb47ee0d3520686341fec936f3b79331f9315667"
	actionlintImage string,
	// cosign, which signs, attests and verifies what publish pushes.
	// +optional
	// +default="ghcr.io/sigstore/cosign/cosign:v3.1.3@sha256:9e5c2f2edc34351160407ca3416c61855bdf9403c3c5936e0f0be7fc261611b8"
	cosignImage string,
	// Where Trivy downloads its vulnerability database (its --db-repository):
	// OCI references, tried in order, such as a mirror in your own registry;
	// Trivy's own defaults when empty.
	// +optional
	trivyDbRepository []string,
) *TodoApp {
	return &TodoApp{Source: source, Frontend: frontend, GoImage: goImage, PostgresImage: postgresImage,
		ClusterImage: clusterImage, TrivyImage: trivyImage, ActionlintImage: actionlintImage, CosignImage: cosignImage,
		TrivyDbRepository: trivyDbRepository}
}

// goBase is the Go toolchain with the working tree and warm module and build caches.
func (m *TodoApp) goBase() *dagger.Container {
	return m.goBaseOf(m.Source)
}

// goBaseOf is the Go toolchain with a repository tree and warm module and build caches.
func (m *TodoApp) goBaseOf(root *dagger.Directory) *dagger.Container {
	return dag.Container().From(m.GoImage).
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("todo-app-go-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("todo-app-go-build")).
		WithEnvVariable("CGO_ENABLED", "0").
		// Each module as it ships, never through the developers' go.work.
		WithEnvVariable("GOWORK", "off").
		WithDirectory("/src", root).
		WithWorkdir("/src")
}

// step is a named part of a larger run.
type step struct {
	name string
	run  func(ctx context.Context) (string, error)
}

// runAll runs steps concurrently and summarises every one; it fails if any failed.
func runAll(ctx context.Context, steps []step) (string, error) {
	results := make([]pipeline.Result, len(steps))
	done := make(chan int)
	for i, s := range steps {
		go func() {
			start := time.Now()
			out, err := s.run(ctx)
			results[i] = pipeline.Result{Name: s.name, Duration: time.Since(start), Output: out, Err: describe(err)}
			done <- i
		}()
	}
	for range steps {
		<-done
	}
	return pipeline.Summary(results)
}

// describe adds what a failed command printed: an ExecError's message lacks it.
func describe(err error) error {
	var ee *dagger.ExecError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s exited %d:\n%s", strings.Join(ee.Cmd, " "), ee.ExitCode,
			pipeline.Tail(ee.Stdout+"\n"+ee.Stderr, 60))
	}
	return err
}
