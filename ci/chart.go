package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// todoctl is the deploy tool (cmd/todoctl), built from a repository tree.
func (m *TodoApp) todoctl(root *dagger.Directory) *dagger.File {
	return m.goBaseOf(root).
		WithExec([]string{"go", "build", "-trimpath", "-o", "/out/todoctl", "./cmd/todoctl"}).
		File("/out/todoctl")
}

// toolbox is a small container with the deploy tool and the chart of the working tree.
func (m *TodoApp) toolbox() *dagger.Container {
	return m.toolboxOf(m.Source)
}

// toolboxOf is a small container with the deploy tool and the chart of a repository tree.
func (m *TodoApp) toolboxOf(root *dagger.Directory) *dagger.Container {
	return dag.Container().From(m.GoImage).
		WithFile("/usr/local/bin/todoctl", m.todoctl(root)).
		WithDirectory("/work/helm-chart", root.Directory("helm-chart")).
		WithWorkdir("/work")
}

// Chart packages the Helm chart of the working tree: todo-app-<version>.tgz.
// Every file in it carries the time given, so the same chart gives the same
// bytes (release and publish give it the commit's time).
func (m *TodoApp) Chart(
	ctx context.Context,
	// Seconds since 1970 that every file is stamped with (the default is 1980-01-01).
	// +optional
	// +default=315532800
	sourceDateEpoch int,
) (*dagger.File, error) {
	return m.packageChart(ctx, m.Source, int64(sourceDateEpoch))
}

// packageChart packages the chart of a repository tree, stamped with epoch.
func (m *TodoApp) packageChart(ctx context.Context, root *dagger.Directory, epoch int64) (*dagger.File, error) {
	meta, err := root.File("helm-chart/Chart.yaml").Contents(ctx)
	if err != nil {
		return nil, err
	}
	name, err := pipeline.ChartPackageName(meta)
	if err != nil {
		return nil, err
	}
	return m.toolboxOf(root).
		WithExec([]string{"todoctl", "package", "--chart", "helm-chart", "--out", "/out", "--source-date-epoch", strconv.FormatInt(epoch, 10)}).
		File("/out/" + name), nil
}

// Manifests renders the chart for the dev or prod values (for review or
// GitOps). Secrets are referenced through an existing Secret, never rendered.
func (m *TodoApp) Manifests(
	// Which values file: dev or prod.
	// +optional
	// +default="dev"
	env string,
) (*dagger.File, error) {
	if env != "dev" && env != "prod" {
		return nil, fmt.Errorf("env %q: want dev or prod", env)
	}
	return m.toolbox().
		WithExec([]string{"sh", "-c", "todoctl render --chart helm-chart -f helm-chart/values-" + env +
			".yaml --set secrets.existingSecret=todo-app-secrets > /out.yaml"}).
		File("/out.yaml"), nil
}
