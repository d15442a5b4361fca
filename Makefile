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

# The main job: build everything and grade every challenge.
GRADED := echo unique-ids broadcast-a broadcast-b broadcast-c broadcast-d broadcast-e \
          g-counter kafka-a kafka-b kafka-c txn-a txn-b txn-c

# Each grading leaves its JSON and exit status in store/make-run/<time>/ and the table
# at the end reads them (scripts/grades.py); `-o all`: the build is done once, above.
run: all
	@d=store/make-run/$$(date -u +%Y%m%dT%H%M%S); mkdir -p $$d; \
	for c in $(GRADED); do \
	  $(MAKE) --no-print-directory -o all GRADE_JSON=$$d/$$c.json $$c; echo $$? > $$d/$$c.exit; echo; \
	done; \
	python3 scripts/grades.py $$d $(GRADED) \
	  && echo "make run: all $(words $(GRADED)) graded challenges are valid and meet the official bars" \
	  || { echo "make run: not every challenge is valid and meets its bar (see above)"; exit 1; }

# grade NAME, WASM, OPTIONS, GUEST-ARGS: the challenge's Maelstrom command (as in its README).
define grade
	@if [ -n "$(MAELSTROM_BIN)" ]; then \
	  echo "== $(1): $(MAELSTROM_BIN) test $(3) --bin $(HOST) run challenges/$(2).wasm $(if $(4),-- $(4))"; \
	  $(MAELSTROM_BIN) test $(3) --bin $(HOST) run challenges/$(2).wasm $(if $(4),-- $(4)); \
	else \
	  echo "== $(1): $(HOST) test $(3) challenges/$(2).wasm $(if $(4),-- $(4))"; \
	  $(HOST) test $(3) $(if $(GRADE_JSON),--json $(GRADE_JSON)) challenges/$(2).wasm $(if $(4),-- $(4)); \
	fi
endef

echo: all
	$(call grade,echo,echo,-w echo --node-count 1 --time-limit 10)

unique-ids: all
	$(call grade,unique-ids,unique-ids,-w unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition)

# Guest arguments per broadcast stage: their one home is challenges/broadcast/stages.toml
# (the knobs are described in its README); set BROADCAST_D_ARGS=... to try others.
broadcast_stage = $(shell sed -n 's/^$(1) *= *"\(.*\)"/\1/p' challenges/broadcast/stages.toml)
BROADCAST_ABC_ARGS ?= $(call broadcast_stage,abc)
BROADCAST_D_ARGS   ?= $(call broadcast_stage,d)
BROADCAST_E_ARGS   ?= $(call broadcast_stage,e)

broadcast-a: all
	$(call grade,broadcast-a,broadcast,-w broadcast --node-count 1 --time-limit 20 --rate 10,$(BROADCAST_ABC_ARGS))

broadcast-b: all
	$(call grade,broadcast-b,broadcast,-w broadcast --node-count 5 --time-limit 20 --rate 10,$(BROADCAST_ABC_ARGS))

broadcast-c: all
	$(call grade,broadcast-c,broadcast,-w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition,$(BROADCAST_ABC_ARGS))

# 3c's bar: valid on 100 seeds, on the harness's virtual time (in parallel; each
# invalid seed is printed with the command that replays it).
broadcast-c-seeds: all
	$(HOST) test -w broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition \
	  --seeds 1..100 challenges/broadcast.wasm $(if $(BROADCAST_ABC_ARGS),-- $(BROADCAST_ABC_ARGS))

broadcast-d: all
	$(call grade,broadcast-d,broadcast,-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100,$(BROADCAST_D_ARGS))

broadcast-e: all
	$(call grade,broadcast-e,broadcast,-w broadcast --node-count 25 --time-limit 20 --rate 100 --latency 100,$(BROADCAST_E_ARGS))

g-counter: all
	$(call grade,g-counter,g-counter,-w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition)

# 4's bar: valid on 100 seeds, on the harness's virtual time.
g-counter-seeds: all
	$(HOST) test -w g-counter --node-count 3 --rate 100 --time-limit 20 --nemesis partition \
	  --seeds 1..100 challenges/g-counter.wasm

TXN_B := -w txn-rw-register --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
         --availability total --nemesis partition

txn-a: all
	$(call grade,txn-a,txn,-w txn-rw-register --node-count 1 --time-limit 20 --rate 1000 --concurrency 2n --consistency-models read-uncommitted --availability total)

txn-b: all
	$(call grade,txn-b,txn,$(TXN_B) --consistency-models read-uncommitted)

txn-c: all
	$(call grade,txn-c,txn,$(TXN_B) --consistency-models read-committed)

# 6c's bar: valid on 100 seeds, on the harness's virtual time.
txn-c-seeds: all
	$(HOST) test $(TXN_B) --consistency-models read-committed --seeds 1..100 challenges/txn.wasm

# Guest arguments per kafka stage (see challenges/kafka/README.md): 5b keeps the logs
# in lin-kv, 5c (the default) gives each key an owner node.
KAFKA_B_ARGS ?= --lin-kv
KAFKA_C_ARGS ?=

kafka-a: all
	$(call grade,kafka-a,kafka,-w kafka --node-count 1 --concurrency 2n --time-limit 20 --rate 1000,$(KAFKA_C_ARGS))

kafka-b: all
	$(call grade,kafka-b,kafka,-w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000,$(KAFKA_B_ARGS))

kafka-c: all
	$(call grade,kafka-c,kafka,-w kafka --node-count 2 --concurrency 2n --time-limit 20 --rate 1000,$(KAFKA_C_ARGS))

# The 3d/3e evidence: many seeds, partitions, one real-time run each (see challenges/broadcast/README.md).
bench-broadcast: all
	python3 challenges/broadcast/bench.py --host $(HOST) --wasm challenges/broadcast.wasm \
	  --d-args "$(BROADCAST_D_ARGS)" --e-args "$(BROADCAST_E_ARGS)"

bench: all
	$(CARGO) run --release -p bench

# The store holds every run's logs, history and report: it grows with each run.
clean-store:
	rm -rf store

clean: clean-store
	$(CARGO) clean
	rm -f challenges/*.wasm
