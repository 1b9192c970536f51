# Consentry — the two commands are `make run` and `make test`.
SHELL := /usr/bin/env bash
GO    ?= go
BIN   := .data/bin
SERVICES := consent-ingest unsubscribe-handler vendor-fanout audit-sink console
# Every module of the workspace, for commands that take directories.
MODULES := schemas client services/platform $(addprefix services/,$(SERVICES)) devkit devstack consentctl e2e-containers deploy/helm/charttest

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the service binaries and the dev stack into .data/bin
	@mkdir -p $(BIN)
	$(GO) build -ldflags "$(STAMP)" -o $(BIN)/ $(addprefix ./services/,$(SERVICES)) ./devstack/cmd/consentry-dev

# What `<service> --version` prints; the image build stamps the same (deploy/Dockerfile).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
STAMP   := -X github.com/consentry/consentry/platform/version.Version=$(VERSION) -X github.com/consentry/consentry/platform/version.Commit=$(COMMIT)
IMAGE_REPO ?= consentry

.PHONY: images
images: ## build one image per service with Docker: make images [IMAGE_REPO=registry/consentry] [VERSION=v1.2.3] [PUSH=1]
	@plan() { for s in $(SERVICES); do \
		echo "docker build -f deploy/Dockerfile --build-arg SERVICE=$$s --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REPO)/$$s:$(VERSION) ."; \
		if [ -n "$(PUSH)" ]; then echo "docker push $(IMAGE_REPO)/$$s:$(VERSION)"; fi; done; }; \
	if ! docker info >/dev/null 2>&1; then \
		echo "make images: no Docker engine reachable here, nothing built; with one this runs:"; plan | sed 's/^/  /'; exit 0; fi; \
	plan | while read -r cmd; do echo "$$cmd"; DOCKER_BUILDKIT=1 $$cmd || exit 1; done

.PHONY: run
run: build ## run the whole pipeline on the embedded stack (Ctrl-C stops it; data stays in .data/)
	$(BIN)/consentry-dev -data-dir .data -bin-dir $(BIN)

# The chaos suite's service binaries carry the crash points (-tags failpoints); the ones
# `make build` and the images produce do not, so they are built apart.
.PHONY: chaos
chaos: ## chaos suite C1-C7 with invariant checks: make chaos RUNS=20 [SCENARIO=C1,C2] [SEED=n]
	@mkdir -p $(BIN)/failpoints
	$(GO) build -tags failpoints -ldflags "$(STAMP)" -o $(BIN)/failpoints/ $(addprefix ./services/,$(SERVICES))
	$(GO) run ./devstack/cmd/consentry-chaos -bin-dir $(BIN)/failpoints -runs $(or $(RUNS),1) $(if $(SCENARIO),-scenario $(SCENARIO)) $(if $(SEED),-seed $(SEED))

.PHONY: fuzz
fuzz: ## run every fuzz target: make fuzz FUZZTIME=60s
	FUZZTIME=$(or $(FUZZTIME),60s) scripts/fuzz.sh

.PHONY: bench
bench: build ## measure against raw baselines on the embedded stack; JSON to BENCH_OUT (default bench/out/latest.json)
	$(GO) run ./devstack/cmd/consentry-bench -bin-dir $(BIN) -doc docs/benchmarks.md \
		-command "make bench$(if $(RATE), RATE=$(RATE))$(if $(PHASE), PHASE=$(PHASE))" $(if $(RATE),-rate $(RATE)) $(if $(PHASE),-phase $(PHASE))

.PHONY: test
test: ## run every test (with -race), bringing up what they need
	@scripts/ensure-postgres.sh
	@scripts/ensure-chromium.sh
	@scripts/ensure-axe-core.sh
	$(GO) vet work
	$(GO) vet -tags failpoints ./services/platform/failpoint
	$(GO) test -race -count=1 -timeout 15m work
	$(GO) test -race -count=1 -tags failpoints ./services/platform/failpoint

# Operator entries against a running `make run` (or any vendor-fanout at FANOUT_URL,
# audit-sink at AUDIT_URL).
FANOUT_URL ?= http://127.0.0.1:8083
AUDIT_URL  ?= http://127.0.0.1:8084
API_KEY    ?= $$(sed -nE 's/.*"api_key": "([^"]+)".*/\1/p' .data/secrets.json)

.PHONY: backfill
backfill: ## replay past opt-outs and erasures to a vendor: make backfill VENDOR=sendgrid
	@test -n "$(VENDOR)" || { echo "usage: make backfill VENDOR=<name>"; exit 2; }
	curl -fsS -X POST $(FANOUT_URL)/v1/vendors/$(VENDOR)/backfill -H "Authorization: Bearer $(API_KEY)"; echo

.PHONY: replay
replay: ## replay a vendor's dead letters: make replay VENDOR=hubspot
	@test -n "$(VENDOR)" || { echo "usage: make replay VENDOR=<name>"; exit 2; }
	curl -fsS -X POST $(FANOUT_URL)/v1/vendors/$(VENDOR)/replay-dead-letters -H "Authorization: Bearer $(API_KEY)"; echo

.PHONY: verify-audit
verify-audit: ## recompute every audit hash chain of a running stack; fails on a break
	@out=$$(curl -fsS $(AUDIT_URL)/v1/audit/verify -H "Authorization: Bearer $(API_KEY)") || exit 1; echo "$$out"; \
		case "$$out" in '{"ok":true'*) ;; *) echo "verify-audit: the audit log does not verify" >&2; exit 1;; esac

.PHONY: fmt
fmt: ## format the code
	gofmt -w $(MODULES)

.PHONY: lint
lint: ## check formatting and vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet work
	$(GO) vet -tags failpoints ./services/platform/failpoint

.PHONY: tidy
tidy: ## go mod tidy every module
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done

.PHONY: clean
clean: ## remove binaries and the dev stack's data
	rm -rf .data
