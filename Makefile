# todo-app developer tasks. `make test` is the whole test suite (CI runs it).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
VERSION   ?= dev
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The backend image is this binary on a ~2 MB distroless base; the image budget is 25 MB.
BACKEND_BINARY_BUDGET_MB := 23

.PHONY: help test prereqs fmt-check vet go-test run build bench image-size

help:
	@echo "make run         run the backend locally (embedded SQLite, offline assistant)"
	@echo "make test        the whole test suite: formatting, go vet, Go tests with the race detector"
	@echo "make bench       measure the backend against PostgreSQL (req/s, p50/p99, RSS, start-up)"
	@echo "make image-size  build the backend binary exactly as its Dockerfile does and check its size"

test: prereqs fmt-check vet go-test

prereqs:
	@scripts/ensure-prereqs.sh

fmt-check:
	@unformatted=$$(gofmt -l backend internal); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

go-test:
	$(GO) test -race -count=1 ./...

run:
	$(GO) run ./backend/cmd/server serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="$(LDFLAGS)" -o bin/server ./backend/cmd/server

bench: prereqs build
	$(GO) run ./backend/cmd/bench -server bin/server

image-size: build
	@size=$$(stat -c %s bin/server); mb=$$(awk "BEGIN{printf \"%.1f\", $$size/1048576}"); \
	echo "backend binary: $$mb MB (budget $(BACKEND_BINARY_BUDGET_MB) MB, image budget 25 MB)"; \
	awk "BEGIN{exit !($$size <= $(BACKEND_BINARY_BUDGET_MB)*1048576)}" || { echo "over budget"; exit 1; }
