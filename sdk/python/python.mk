# Python guests: the SDK (sdk/python/glomers), the challenges (challenges/python/*.py)
# built to components with componentize-py, and their tests. Included by the root
# Makefile; runs from the repo root. Self-contained too:
#   make -f sdk/python/python.mk python-test HOST=/path/to/host
#
#   python-tools  the pinned tools in a venv at .tools/python (quick when already there)
#   python        every challenges/python/<name>.wasm and the test fixtures
#   python-test   the SDK's and challenges' native tests (pytest, no wasm), then the
#                 end-to-end tests against $(HOST) and the built components

PY_COMPONENTIZE_VERSION := 0.25.1
PY_PYTEST_VERSION       := 8.3.4
PY_TOOLS      := .tools/python
PY_BIN        := $(PY_TOOLS)/bin
PY_STAMP      := $(PY_TOOLS)/.stamp-componentize-py-$(PY_COMPONENTIZE_VERSION)-pytest-$(PY_PYTEST_VERSION)
PY_CHALLENGES := echo unique-ids broadcast g-counter kafka
PY_FIXTURES   := py-misbehave
PY_WASM       := $(PY_CHALLENGES:%=challenges/python/%.wasm)
PY_FIXTURE_WASM := $(PY_FIXTURES:%=sdk/python/fixtures/%.wasm)
PY_SDK_SRC    := $(wildcard sdk/python/glomers/*.py)
HOST          ?= target/release/host
PY_MK         := $(lastword $(MAKEFILE_LIST))

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: python-tools python python-test python-build python-native-test python-e2e-test

# The venv and the pinned tools; a stamp named after the versions makes it a no-op
# when done. Without network it says so in one line and leaves no stamp, so
# `make python` skips the Python components (exit 0) and the Rust build goes on.
python-tools:
	@if [ ! -f $(PY_STAMP) ]; then \
	  echo "python-tools: installing componentize-py==$(PY_COMPONENTIZE_VERSION) pytest==$(PY_PYTEST_VERSION) into $(PY_TOOLS)"; \
	  mkdir -p $(dir $(PY_TOOLS)); rm -f $(PY_TOOLS)/.stamp-*; \
	  if python3 -m venv $(PY_TOOLS) >$(PY_TOOLS)-install.log 2>&1 && \
	     $(PY_BIN)/pip install -q --disable-pip-version-check \
	       componentize-py==$(PY_COMPONENTIZE_VERSION) pytest==$(PY_PYTEST_VERSION) >>$(PY_TOOLS)-install.log 2>&1; then \
	    touch $(PY_STAMP); \
	  else \
	    echo "python-tools: cannot install componentize-py/pytest from PyPI (no network or python3-venv missing?); see $(PY_TOOLS)-install.log"; \
	  fi; \
	fi

python: python-tools
	@if [ -f $(PY_STAMP) ]; then \
	  $(MAKE) -s --no-print-directory -f $(PY_MK) python-build; \
	else \
	  echo "python: skipped, componentize-py $(PY_COMPONENTIZE_VERSION) is not installed (see make python-tools)"; \
	fi

python-build: $(PY_WASM) $(PY_FIXTURE_WASM)

# One component per module; its name with - for _ (unique-ids.wasm from unique_ids.py).
# Written beside and renamed, so a `host run` watching the file never reads half of it.
define py_component
$(1)/$(2).wasm: $(1)/$(subst -,_,$(2)).py $(PY_SDK_SRC) $(PY_STAMP)
	@echo "componentize-py: $$@"
	@$(PY_BIN)/componentize-py -d wit -w handoff componentize -p sdk/python -p $(1) \
	  $(subst -,_,$(2)) -o $(1)/.$(2).wasm.tmp >/dev/null && mv -f $(1)/.$(2).wasm.tmp $$@
endef
$(foreach c,$(PY_CHALLENGES),$(eval $(call py_component,challenges/python,$(c))))
$(foreach c,$(PY_FIXTURES),$(eval $(call py_component,sdk/python/fixtures,$(c))))

python-test: python-native-test python-e2e-test

python-native-test: python-tools
	@test -f $(PY_STAMP) || { echo "python-test: pytest is not installed (make python-tools)"; exit 1; }
	$(PY_BIN)/pytest -c sdk/python/pytest.ini sdk/python/tests challenges/python/tests

python-e2e-test: python-tools
	@test -x $(HOST) || { echo "python-test: no host binary at $(HOST) (build it, or pass HOST=...)"; exit 1; }
	@for w in $(PY_WASM) $(PY_FIXTURE_WASM); do \
	  test -f $$w || { echo "python-test: $$w is missing: run make python first"; exit 1; }; \
	done
	GLOMERS_HOST=$(HOST) $(PY_BIN)/pytest -c sdk/python/pytest.ini sdk/python/e2e
