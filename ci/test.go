package main

import (
	"context"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Test runs the Go tests (backend, chart, deploy tool) against a PostgreSQL
// service and the frontend's unit tests, concurrently, and reports each.
// +check
func (m *TodoApp) Test(ctx context.Context) (string, error) {
	return runAll(ctx, []step{{"go", m.goTest}, {"frontend", m.frontendTest}})
}

func (m *TodoApp) goTest(ctx context.Context) (string, error) {
	db := dag.Container().From(m.PostgresImage).
		WithEnvVariable("POSTGRES_PASSWORD", "test").
		WithExposedPort(5432).
		AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
	return m.goBase().
		WithServiceBinding("db", db).
		WithEnvVariable("TEST_DATABASE_URL", "postgres://postgres:test@db:5432/postgres?sslmode=disable").
		WithExec([]string{"sh", "-c", pipeline.GoTestCommand()}).
		Stdout(ctx)
}

func (m *TodoApp) frontendTest(ctx context.Context) (string, error) {
	return m.frontendDeps().WithExec([]string{"npx", "vitest", "run"}).Stdout(ctx)
}

// Lint runs go vet, eslint and tsc, checks the chart with the deploy tool's
// renderer, and runs actionlint on the workflows.
// +check
func (m *TodoApp) Lint(ctx context.Context) (string, error) {
	return runAll(ctx, []step{
		{"go vet, chart", func(ctx context.Context) (string, error) {
			// One after the other in one container: both compile the Helm SDK
			// and the Kubernetes API types, and two compilers side by side
			// on a cold cache would each build them. The chart's checks are
			// helm lint (strict), schema and render checks for every values file.
			return m.goBase().
				WithExec([]string{"sh", "-c", pipeline.GoVetCommand()}).
				WithExec([]string{"go", "test", "-count=1", "./internal/chart/..."}).
				Stdout(ctx)
		}},
		{"eslint", func(ctx context.Context) (string, error) {
			return m.frontendDeps().WithExec([]string{"npx", "eslint", "."}).Stdout(ctx)
		}},
		{"tsc", func(ctx context.Context) (string, error) {
			return m.frontendDeps().WithExec([]string{"npx", "tsc", "--noEmit"}).Stdout(ctx)
		}},
		{"actionlint", func(ctx context.Context) (string, error) {
			return dag.Container().From(m.ActionlintImage).
				WithDirectory("/repo", m.Source.Directory(".github")).
				WithWorkdir("/repo").
				WithExec([]string{"actionlint", "-color", "workflows/ci.yml"}, dagger.ContainerWithExecOpts{UseEntrypoint: false}).
				Stdout(ctx)
		}},
	})
}
