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

.PHONY: all run test bench clean wasm-target host challenges fixtures lint \
        echo unique-ids broadcast-a broadcast-b broadcast-c broadcast-d broadcast-e

all: host challenges

# Fresh machines lack the guest target; this is quick when it is already there.
wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

host:
	$(CARGO) build --release -p host

challenges: wasm-target
	$(CARGO) build --profile guest --target wasm32-wasip2 $(addprefix -p ,$(CHALLENGES))
	@for c in $(CHALLENGES); do cp $(GUEST_DIR)/$$(echo $$c | tr - _).wasm challenges/$$c.wasm; done
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
run: all
	@for c in echo unique-ids; do $(MAKE) --no-print-directory $$c || exit 1; done

# grade NAME, WASM, OPTIONS, GUEST-ARGS: the Maelstrom command of ../shared/challenges.md.
define grade
	@if [ -n "$(MAELSTROM_BIN)" ]; then \
	  echo "== $(1): $(MAELSTROM_BIN) test $(3) --bin $(HOST) run challenges/$(2).wasm $(if $(4),-- $(4))"; \
	  $(MAELSTROM_BIN) test $(3) --bin $(HOST) run challenges/$(2).wasm $(if $(4),-- $(4)); \
	else \
	  echo "== $(1): $(HOST) test $(3) challenges/$(2).wasm $(if $(4),-- $(4))"; \
	  $(HOST) test $(3) challenges/$(2).wasm $(if $(4),-- $(4)); \
	fi
endef

echo: all
	$(call grade,echo,echo,-w echo --node-count 1 --time-limit 10)

unique-ids: all
	$(call grade,unique-ids,unique-ids,-w unique-ids --time-limit 30 --rate 1000 --node-count 3 --availability total --nemesis partition)

bench: all
	$(CARGO) run --release -p bench

clean:
	$(CARGO) clean
	rm -f challenges/*.wasm
