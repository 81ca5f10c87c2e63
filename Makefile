# authcache: every target installs what it needs first (Bun into .tools/, dependencies, servers).
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export TURBO_TELEMETRY_DISABLED := 1
export DO_NOT_TRACK := 1
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help demo test explore soak bench lint typecheck build clean bootstrap

help: ## List the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install Bun (pinned, into .tools/) and the workspace dependencies
	@scripts/bootstrap

demo: bootstrap ## Run the demo gateway on its embedded default (libSQL file, L1 only)
	@cd apps/demo-gateway && bun src/main.ts

test: ## Lint, typecheck and run every test (installs Redis/Valkey when missing); ends with "N passed, N failed"
	@scripts/test-all

explore: ## The staleness explorer's longer run on real Redis, Valkey and libSQL (AUTHCACHE_EXPLORE_SECONDS per backend, default 60)
	@scripts/bootstrap --servers
	@cd test && bun explorer/explore-cli.ts

soak: ## The chaos runs (standalone, clusters with failovers and reshards, libSQL) repeated for AUTHCACHE_SOAK_SECONDS each (default 300)
	@scripts/bootstrap --servers
	@cd test && AUTHCACHE_SOAK_SECONDS=$${AUTHCACHE_SOAK_SECONDS:-300} bun test --timeout 0 reliability/chaos-

bench: ## Run every benchmark scenario against every backend; writes benchmarks/results/
	@scripts/bootstrap --servers
	@cd benchmarks && bun src/run.ts

lint: bootstrap ## Check format and lint rules with Biome
	@biome check .

typecheck: bootstrap ## Typecheck every package with tsc
	@turbo run typecheck --output-logs=errors-only

build: bootstrap ## Build every library package to dist/ (for Node and Deno)
	@turbo run build --output-logs=errors-only

clean: ## Remove build outputs, caches, test output and installed dependencies
	@rm -rf .turbo .test-output node_modules .tools packages/*/dist packages/*/node_modules packages/*/.turbo \
	  apps/*/node_modules apps/*/.turbo apps/*/data benchmarks/node_modules test/node_modules scripts/test-servers/node_modules \
	  scripts/test-servers/dist
