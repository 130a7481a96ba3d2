# todo-app developer tasks. `make test` is the whole test suite (CI runs it).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
# Each Go module is built and tested alone, as it ships: go.work is for editors.
export GOWORK := off
# The backend's module (backend/), and the root module's tools, named explicitly:
# ./... would also walk frontend/node_modules, where npm packages ship Go code.
BACKEND_PKGS := ./...
TOOLS_PKGS   := ./internal/... ./cmd/...
# ci/internal/dagger connects to an engine at init; these let its tests start without one.
DAGGER_TEST_ENV := DAGGER_SESSION_PORT=1 DAGGER_SESSION_TOKEN=unused
VERSION   ?= dev
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The backend image is this binary on a ~2 MB distroless base; the image budget is 25 MB.
BACKEND_BINARY_BUDGET_MB := 23

.PHONY: compose-test help up test prereqs fmt-check vet actionlint go-test frontend-deps frontend-check frontend-build e2e ci-module bindings-check pipeline run build bench image-size

help:
	@echo "make up          the whole app on http://localhost:3000 with only Go and Node (data kept in .local/)"
	@echo "make run         run the backend locally (embedded SQLite, offline assistant)"
	@echo "make test        the whole test suite: Go (vet, race detector, real PostgreSQL), frontend"
	@echo "                 (eslint, tsc, vitest, production build) and Playwright end-to-end in Chromium"
	@echo "make bench       measure the backend against PostgreSQL beside nginx serving the same bytes (req/s, p50/p99, the ratio)"
	@echo "make image-size  build the backend binary exactly as its Dockerfile does and check its size"
	@echo "make compose-test  compose.yaml for real on the Docker Engine docker reaches (COMPOSE_TEST_OPTS=-build, or -load b.tar,f.tar)"
	@echo "make pipeline    the Dagger module's self-test on the engine dagger reaches (PIPELINE_FLAGS: constructor flags;"
	@echo "                 PIPELINE_OPTS=-cluster adds deploy, deploy to a standing cluster and prove)"

# The frontend is built before the Go tests: the smoke test runs the real standalone server.
test: prereqs fmt-check vet actionlint frontend-check frontend-build go-test e2e ci-module bindings-check

prereqs:
	@scripts/ensure-prereqs.sh

fmt-check:
	@unformatted=$$(gofmt -l backend internal cmd ci); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# The tests that start the whole stack as local processes carry this build
# tag: make test runs them, the pipeline's Go image cannot (ci/contract).
GO_TAGS := -tags=localstack

vet:
	$(GO) -C backend vet $(GO_TAGS) $(BACKEND_PKGS)
	$(GO) vet $(GO_TAGS) $(TOOLS_PKGS)

go-test:
	$(GO) -C backend test $(GO_TAGS) -race -count=1 $(BACKEND_PKGS)
	$(GO) test $(GO_TAGS) -race -count=1 $(TOOLS_PKGS)

# Built from its own module: its YAML library version clashes with Helm's in ours.
actionlint:
	$(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 .github/workflows/ci.yml

# npm ci only when the lockfile changed since the last install.
frontend-deps: frontend/node_modules/.package-lock.json
frontend/node_modules/.package-lock.json: frontend/package-lock.json frontend/package.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend-check: frontend-deps
	cd frontend && npx eslint . && npx tsc --noEmit && npx vitest run

frontend-build: frontend-deps
	cd frontend && NEXT_TELEMETRY_DISABLED=1 npm run build

e2e: frontend-build
	cd frontend && npx playwright test

# The Dagger module (its own Go module, capped at go 1.25.5): build, vet, unit
# tests; and the contract it shares with the root module's tools (a module of its own).
ci-module:
	cd ci && $(DAGGER_TEST_ENV) $(GO) build ./... && $(DAGGER_TEST_ENV) $(GO) vet ./... && $(DAGGER_TEST_ENV) $(GO) test -count=1 ./...
	cd ci/contract && $(GO) vet ./... && $(GO) test -count=1 ./...

# Fails when ci/'s committed bindings differ from what Dagger's codegen makes of
# ci/ now: `dagger develop` where an engine answers, else the same codegen offline.
bindings-check:
	@scripts/dagger-bindings.sh --check

# The Dagger module's functions, run through the dagger CLI and checked: those
# that need no cluster, and with PIPELINE_OPTS=-cluster the deploy half too.
PIPELINE_OPTS  ?=
PIPELINE_FLAGS ?=
pipeline:
	$(GO) run ./cmd/pipelinetest $(PIPELINE_OPTS) -- $(PIPELINE_FLAGS)

# compose.yaml run for real on the Docker Engine the docker CLI reaches:
# healthy, smoke-tested through the published port, data kept across down/up.
COMPOSE_TEST_OPTS ?=
compose-test:
	$(GO) run ./cmd/composetest $(COMPOSE_TEST_OPTS)

# The whole app without containers: SQLite files for both apps in .local/ (kept
# across runs), or both in the PostgreSQL of DATABASE_URL; the offline assistant.
up: frontend-build
	$(GO) build -o bin/devstack ./cmd/devstack
	exec bin/devstack -repo . -frontend frontend/.next/standalone -port 3000 -host localhost -data .local

run:
	$(GO) -C backend run ./cmd/server serve

build:
	CGO_ENABLED=0 $(GO) -C backend build -trimpath -ldflags="$(LDFLAGS)" -o ../bin/server ./cmd/server

bench: prereqs build
	@scripts/ensure-prereqs.sh --bench
	$(GO) run ./cmd/bench -server bin/server

image-size: build
	@size=$$(stat -c %s bin/server); mb=$$(awk "BEGIN{printf \"%.1f\", $$size/1048576}"); \
	echo "backend binary: $$mb MB (budget $(BACKEND_BINARY_BUDGET_MB) MB, image budget 25 MB)"; \
	awk "BEGIN{exit !($$size <= $(BACKEND_BINARY_BUDGET_MB)*1048576)}" || { echo "over budget"; exit 1; }
