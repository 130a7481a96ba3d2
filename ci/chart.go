package main

import (
	"context"
	"fmt"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// todoctl is the deploy tool (cmd/todoctl), built from the repository.
func (m *TodoApp) todoctl() *dagger.File {
	return m.goBase().
		WithExec([]string{"go", "build", "-trimpath", "-o", "/out/todoctl", "./cmd/todoctl"}).
		File("/out/todoctl")
}

// toolbox is a small container with the deploy tool and the chart.
func (m *TodoApp) toolbox() *dagger.Container {
	return dag.Container().From(m.GoImage).
		WithFile("/usr/local/bin/todoctl", m.todoctl()).
		WithDirectory("/work/helm-chart", m.Source.Directory("helm-chart")).
		WithWorkdir("/work")
}

// Chart packages the Helm chart: todo-app-<version>.tgz.
func (m *TodoApp) Chart(ctx context.Context) (*dagger.File, error) {
	meta, err := m.Source.File("helm-chart/Chart.yaml").Contents(ctx)
	if err != nil {
		return nil, err
	}
	name, err := pipeline.ChartPackageName(meta)
	if err != nil {
		return nil, err
	}
	return m.toolbox().
		WithExec([]string{"todoctl", "package", "--chart", "helm-chart", "--out", "/out"}).
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
