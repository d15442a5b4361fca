# glomers: `make` builds the host and every challenge; `make test` runs every test;
# `make echo`, `make broadcast-d`, ... grade a challenge (real Maelstrom if installed,
# else the built-in harness); `make bench` prints the benchmarks.

CARGO      ?= cargo
HOST       := target/release/host
GUEST_DIR  := target/wasm32-wasip2/guest
CHALLENGES := $(patsubst challenges/%/Cargo.toml,%,$(wildcard challenges/*/Cargo.toml))
FIXTURES   := $(patsubst fixtures/%/Cargo.toml,%,$(wildcard fixtures/*/Cargo.toml))
# A real Maelstrom, if there is one: MAELSTROM=path/to/maelstrom, or `maelstrom` on PATH.
MAELSTROM_BIN := $(or $(MAELSTROM),$(shell command -v maelstrom 2>/dev/null))

.PHONY: all run test bench clean clean-store wasm-target host challenges fixtures lint \
        echo unique-ids broadcast-a broadcast-b broadcast-c broadcast-d broadcast-e bench-broadcast \
        broadcast-c-seeds g-counter g-counter-seeds txn-a txn-b txn-c txn-c-seeds \
        kafka-a kafka-b kafka-c

all: host challenges

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

test: all fixtures
	$(CARGO) test --release --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

# The main job: build everything and grade every challenge in every language, as
# challenges/challenges.toml describes them (their one home), in parallel, ending with
# one table. `make run LANG=python` grades one language (comma-separated for more).
# (LANG is also the locale's variable: only a LANG given on make's command line counts.)
LANG_FILTER = $(if $(filter command line,$(origin LANG)),--lang $(LANG))
run: all
	python3 scripts/grade.py run $(LANG_FILTER)

GRADED := echo unique-ids broadcast-a broadcast-b broadcast-c broadcast-d broadcast-e \
          g-counter kafka-a kafka-b kafka-c txn-a txn-b txn-c

# `make echo`, `make broadcast-d`, ...: one grading (every language it is graded in;
# LANG=rust for one). A real Maelstrom grades it when there is one (MAELSTROM=path, or
# `maelstrom` on PATH), else the built-in harness.
$(GRADED): all
	python3 scripts/grade.py run $(LANG_FILTER) $@

# The challenge's own bar: valid on many seeds, on the harness's virtual time, in
# parallel; each invalid seed is printed with the command that replays it.
broadcast-c-seeds g-counter-seeds txn-c-seeds: all
	python3 scripts/grade.py seeds $(patsubst %-seeds,%,$@)

# The 3d/3e evidence: many seeds, partitions, one real-time run each (see challenges/broadcast/README.md).
bench-broadcast: all
	python3 challenges/broadcast/bench.py --host $(HOST) --wasm challenges/broadcast.wasm

bench: all
	$(CARGO) run --release -p bench

# The store holds every run's logs, history and report: it grows with each run.
clean-store:
	rm -rf store

clean: clean-store
	$(CARGO) clean
	rm -f challenges/*.wasm
