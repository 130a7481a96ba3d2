package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// app is the whole stack as one service: both apps in the frontend image (the
// backend's static binary added), PostgreSQL bound beside them. One container,
// because the backend reads the frontend's JWKS and the frontend proxies to the
// backend, and service bindings cannot form a cycle.
func (m *TodoApp) app(publicURL string, authRateLimit bool) *dagger.Service {
	db := dag.Container().From(m.PostgresImage).
		WithEnvVariable("POSTGRES_USER", "todo").
		WithEnvVariable("POSTGRES_PASSWORD", "todo").
		WithEnvVariable("POSTGRES_DB", "todo").
		WithLabel("todo-app.instance", publicURL). // one database per stack
		WithExposedPort(5432).
		AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
	limit := "on"
	if !authRateLimit {
		limit = "off" // tests sign up many users from one address
	}
	secret := rand.Text() + rand.Text()
	return m.FrontendImage("", "dev", "local").
		WithFile("/usr/local/bin/todo-backend", m.BackendImage("", "dev", "local").File("/server")).
		WithServiceBinding("postgres", db).
		WithEnvVariable("DATABASE_URL", "postgres://todo:todo@postgres:5432/todo?sslmode=disable").
		WithEnvVariable("BACKEND_URL", "http://127.0.0.1:8000").
		WithEnvVariable("AUTH_JWKS_URL", "http://127.0.0.1:3000/api/auth/jwks").
		WithEnvVariable("AUTH_ISSUER", publicURL).
		WithEnvVariable("AUTH_AUDIENCE", publicURL).
		WithEnvVariable("BETTER_AUTH_URL", publicURL).
		WithEnvVariable("AUTH_RATE_LIMIT", limit).
		WithSecretVariable("BETTER_AUTH_SECRET", dag.SetSecret("todo-app-auth-"+rand.Text()[:8], secret)).
		WithExposedPort(3000).
		AsService(dagger.ContainerAsServiceOpts{
			Args: []string{"sh", "-c", "PORT=8000 todo-backend serve & exec node server.js"},
		})
}

// Serve serves the whole stack (PostgreSQL, backend, frontend) for local
// use: dagger call serve up --ports=3000:3000, then open http://localhost:3000.
// Served on another host port, say where, since sign-in trusts only that
// origin: dagger call serve --url=http://localhost:8080 up --ports=8080:3000.
func (m *TodoApp) Serve(
	// Where the browser reaches the stack (scheme, host, port): the origin
	// that sign-up and sign-in accept, and the issuer of the tokens.
	// +optional
	// +default="http://localhost:3000"
	url string,
) (*dagger.Service, error) {
	origin, err := pipeline.PublicURL(url)
	if err != nil {
		return nil, err
	}
	return m.app(origin, true), nil
}

// stackHost is the host name the journeys reach the stack under. Chromium
// treats a single-label host as a TLD and upgrades http:// to https:// for the
// HSTS-preloaded ones (app, dev, page, …): under "app" every journey failed
// with ERR_SSL_PROTOCOL_ERROR. No service alias may be one of them.
const stackHost = "stack"

// EndToEnd runs the Playwright journeys, in the official Playwright image (its
// browsers included), against the stack built from both images. Returns the
// report and screenshots; a failing journey fails the call with its output.
// +cache="never"
func (m *TodoApp) EndToEnd(
	ctx context.Context,
	// Playwright image; its version must match @playwright/test in frontend/package-lock.json.
	// +optional
	// +default="mcr.microsoft.com/playwright:v1.65.1-noble"
	playwrightImage string,
) (*dagger.Directory, error) {
	origin := "http://" + stackHost + ":3000"
	run := dag.Container().From(playwrightImage).
		WithMountedCache("/root/.npm", dag.CacheVolume("todo-app-npm")).
		WithDirectory("/app", m.Frontend).
		WithWorkdir("/app").
		// The journeys need only Playwright: no install script runs (better-sqlite3's
		// native build, which the stack's own image has, took most of this install).
		WithExec([]string{"npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"}).
		WithServiceBinding(stackHost, m.app(origin, false)).
		WithEnvVariable("E2E_BASE_URL", origin).
		WithExec([]string{"npx", "playwright", "test"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := run.ExitCode(ctx)
	if err != nil {
		return nil, err
	}
	report := dag.Directory().
		WithDirectory("test-results", run.Directory("/app/test-results")).
		WithDirectory("playwright-report", run.Directory("/app/playwright-report"))
	if code != 0 {
		out, _ := run.Stdout(ctx)
		return nil, fmt.Errorf("playwright exited %d:\n%s", code, pipeline.Tail(out, 60))
	}
	return report, nil
}
