# Agora build, run and test entry points. See README.md.
GO        ?= go
BIN       := bin/agora
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
GOTESTFLAGS ?=
PKGS_UNIT := $(shell $(GO) list ./... 2>/dev/null | grep -v /integration)

.PHONY: all build run hello-image test test-unit test-cgroup2 test-integration bench proto proto-check lint deps clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/agora

## run: build and start a local cluster (master :5050, agent :5051, frameworks) in the foreground.
run: build
	$(BIN) local $(ARGS)

## hello-image: build the README's hello_world:latest Docker image locally (no registry needed).
hello-image:
	CGO_ENABLED=0 $(GO) run ./integration/dockertest/buildhello

## test: install what the tests need, then unit tests (race detector), the cgroup v2 tests in a
## VM, and integration tests.
test: deps build
	$(GO) vet ./...
	$(GO) test -race -count=1 $(GOTESTFLAGS) $(PKGS_UNIT)
	./scripts/cgroup2-vm.sh
	AGORA_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m $(GOTESTFLAGS) ./integration/...

test-unit:
	$(GO) test -race -count=1 $(GOTESTFLAGS) $(PKGS_UNIT)

## test-cgroup2: agent/cgroups's tests in a qemu guest with only cgroup v2 (this kind of host
## has v1); CGROUP2_ARGS go to the test binary, e.g. CGROUP2_ARGS='-test.run TestOOM'.
test-cgroup2:
	./scripts/cgroup2-vm.sh $(CGROUP2_ARGS)

test-integration: deps build
	AGORA_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 20m $(GOTESTFLAGS) ./integration/...

## bench: run the benchmarks and print one table of the figures.
bench: build
	AGORA_BIN=$(CURDIR)/$(BIN) ./scripts/bench.sh

## proto: regenerate the Go code from proto/ (pinned protoc-gen-go from go.mod, protoc from Debian).
proto:
	./scripts/genproto.sh

## proto-check: fail when the committed generated code differs from a fresh generation.
proto-check: proto
	@git diff --exit-code -- proto || (echo "generated protobuf code is stale: run 'make proto' and commit" >&2; exit 1)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	$(GO) vet ./...

## deps: install the tools the tests need (ZooKeeper, protoc, python3, python3-marathon, chromium) from the OS
## packages when missing.
deps:
	./scripts/install-deps.sh

clean:
	rm -rf bin .work
