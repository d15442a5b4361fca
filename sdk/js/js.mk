# JavaScript guests: included by the root Makefile (and self-contained: `make -f sdk/js/js.mk js`).
#   make js-tools   componentize-js, pinned by sdk/js/tools/package-lock.json, into .tools/js
#   make js         every challenges/js/*.wasm and the fixtures in sdk/js/fixtures
#   make js-test    the SDK's and the challenges' native tests (node --test), then the
#                   end-to-end tests against $(HOST) and the built components
# Targets run from the repo root.

HOST          ?= target/release/host
JS_NODE       ?= node
JS_NPM        ?= npm
JS_TOOLS      := .tools/js
JS_COMPONENTIZE := $(JS_TOOLS)/node_modules/@bytecodealliance/componentize-js/src/componentize.js
# Keyed on the lock file: changing a pinned version installs again.
JS_TOOLS_STAMP := $(JS_TOOLS)/.stamp-$(shell cat sdk/js/tools/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
JS_SDK_SRC    := $(wildcard sdk/js/*.js) sdk/js/build.mjs $(wildcard sdk/js/wit/*.wit sdk/js/wit/deps/*/*.wit)
JS_CHALLENGES := echo unique-ids broadcast g-counter kafka
JS_FIXTURES   := $(patsubst sdk/js/fixtures/%.js,%,$(wildcard sdk/js/fixtures/*.js))
JS_WASM       := $(addprefix challenges/js/,$(addsuffix .wasm,$(JS_CHALLENGES))) \
                 $(addprefix sdk/js/fixtures/,$(addsuffix .wasm,$(JS_FIXTURES)))

.PHONY: js-tools js js-test js-test-native js-test-e2e

js-tools: $(JS_TOOLS_STAMP)

# npm ci installs exactly the lock's versions; when npm or the registry is not there,
# say so and go on (the Rust build does not need this).
$(JS_TOOLS_STAMP): sdk/js/tools/package.json sdk/js/tools/package-lock.json
	@if ! command -v $(JS_NPM) >/dev/null 2>&1 || ! command -v $(JS_NODE) >/dev/null 2>&1; then \
	  echo "js-tools: skipped: node/npm not found (JavaScript guests need Node >= 20)"; exit 0; \
	fi; \
	mkdir -p $(JS_TOOLS) && cp sdk/js/tools/package.json sdk/js/tools/package-lock.json $(JS_TOOLS)/ && \
	rm -f $(JS_TOOLS)/.stamp-* && \
	if $(JS_NPM) ci --prefix $(JS_TOOLS) --no-audit --no-fund --loglevel=error >$(JS_TOOLS)/npm.log 2>&1; then \
	  touch $@; echo "js-tools: componentize-js installed in $(JS_TOOLS)"; \
	else \
	  echo "js-tools: skipped: npm ci failed (no registry?), see $(JS_TOOLS)/npm.log"; \
	fi

js: js-tools
	@if [ ! -f $(JS_COMPONENTIZE) ]; then \
	  echo "js: skipped: componentize-js is not installed in $(JS_TOOLS) (see make js-tools)"; \
	else \
	  $(MAKE) --no-print-directory -f sdk/js/js.mk $(JS_WASM) && echo "built: $(JS_WASM)"; \
	fi

# build.mjs writes a temporary name beside the target and renames it.
challenges/js/%.wasm: challenges/js/%.js $(JS_SDK_SRC) $(wildcard challenges/js/lib/*.js)
	@$(JS_NODE) sdk/js/build.mjs $< $@

sdk/js/fixtures/%.wasm: sdk/js/fixtures/%.js $(JS_SDK_SRC)
	@$(JS_NODE) sdk/js/build.mjs $< $@

js-test: js-test-native js-test-e2e

js-test-native:
	$(JS_NODE) --test sdk/js/test/ challenges/js/test/

# The components must be built (make js) and the host too.
js-test-e2e:
	@missing=""; for f in $(JS_WASM) $(HOST); do [ -f $$f ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	  echo "js-test: missing:$$missing (run make js and build the host; HOST=$(HOST))"; exit 1; \
	fi
	GLOMERS_HOST=$(abspath $(HOST)) $(JS_NODE) --test --test-concurrency=1 sdk/js/e2e/
