#!/usr/bin/env python3
"""Prepares a Go wasip1 reactor (core module) for `wasm-tools component new`.

Why: wit-component (wasm-tools >= 1.217) already runs the core module's
`_initialize` from the component's start (a `start` in its fixup module). But inside
`_initialize` the Go runtime makes its first WASI calls (clock, random, args), and
the preview1 adapter then allocates its stack and state (64 KiB each) with the main module's
`cabi_realloc`, which is a `//go:wasmexport` function: Go traps in
`runtime.notInitialized` because its runtime is not up yet. `--realloc-via-memory-grow`
is no way out: Go's sbrk assumes it alone grows the memory, so a page grown by the
adapter would later be handed out by Go's allocator too.

What this does (stdlib only, no tool beyond Python): it adds to the module
  * a global `ready` (0 until Go's `_initialize` has returned) and a bump pointer;
  * a new `_initialize` that calls Go's and then sets `ready`;
  * a new `cabi_realloc` that forwards to Go's once `ready`, and before that serves
    allocations (the adapter's stack and state, 64 KiB each) from a static arena the SDK
    reserves in Go's data: the array `adapterArena`, found by its marker bytes.
  * a `clock_time_get` in front of WASI's, which the Go runtime's wrapper
    (`runtime.clock_time_get`, the one call site) calls instead: it adds 1 s to the
    monotonic clock. `host test` runs nodes on a virtual clock that starts at 0, and
    Go's runtime.main throws "nanotime returning zero" when the clock reads 0.
Everything else is left byte for byte (new types, functions and globals go at the
end of their index spaces, so no index moves).

Usage: prepare.py IN.wasm OUT.wasm
"""
import sys

MARKER = b"glomers-adapter-arena:v1:"  # must match sdk/go/wasm_wasip1.go
ARENA_SIZE = 136 * 1024  # bytes after the marker, idem


def leb_u(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def leb_s(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


class Reader:
    def __init__(self, data, pos=0):
        self.d = data
        self.p = pos

    def u(self):
        r = s = 0
        while True:
            b = self.d[self.p]
            self.p += 1
            r |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return r

    def byte(self):
        b = self.d[self.p]
        self.p += 1
        return b

    def bytes(self, n):
        b = self.d[self.p : self.p + n]
        self.p += n
        return b

    def name(self):
        return self.bytes(self.u()).decode()

    def skip_const_expr(self):
        # Enough for what Go emits: i32/i64.const, global.get, end.
        while True:
            op = self.byte()
            if op == 0x0B:
                return
            if op in (0x41, 0x42, 0x23):
                self.u()
            elif op == 0x44:
                self.bytes(8)
            elif op == 0x43:
                self.bytes(4)
            else:
                raise SystemExit(f"prepare.py: unexpected opcode {op:#x} in a constant")

    def i32_const_expr(self):
        op = self.byte()
        if op != 0x41:
            return None
        r = s = 0
        while True:
            b = self.byte()
            r |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                if b & 0x40:
                    r -= 1 << s
                break
        if self.byte() != 0x0B:
            return None
        return r


def vec(items):
    return leb_u(len(items)) + b"".join(items)


def section(sid, payload):
    return bytes([sid]) + leb_u(len(payload)) + payload


def function_index(sections, wanted):
    """The index of the function named `wanted` in the "name" section."""
    for sid, payload in sections:
        if sid != 0:
            continue
        r = Reader(payload)
        if r.name() != "name":
            continue
        while r.p < len(payload):
            sub = r.byte()
            size = r.u()
            end = r.p + size
            if sub == 1:
                for _ in range(r.u()):
                    idx = r.u()
                    if r.name() == wanted:
                        return idx
            r.p = end
    raise SystemExit(f"prepare.py: no function {wanted} in the name section")


def main(src, dst):
    data = open(src, "rb").read()
    if data[:8] != b"\0asm\x01\0\0\0":
        raise SystemExit("prepare.py: not a core wasm module")
    sections = []  # (id, payload)
    r = Reader(data, 8)
    while r.p < len(data):
        sid = r.byte()
        size = r.u()
        sections.append([sid, data[r.p : r.p + size]])
        r.p += size

    def get(sid):
        for s in sections:
            if s[0] == sid:
                return s
        return None

    # Types: we append two.
    ts = get(1)
    tr = Reader(ts[1])
    ntypes = tr.u()
    types_rest = ts[1][tr.p :]
    t_void = ntypes
    t_realloc = ntypes + 1
    t_clock = ntypes + 2
    new_types = [
        b"\x60\x00\x00",
        b"\x60\x04\x7f\x7f\x7f\x7f\x01\x7f",
        b"\x60\x03\x7f\x7e\x7f\x01\x7f",
    ]
    ts[1] = leb_u(ntypes + 3) + types_rest + b"".join(new_types)

    # Imports: count functions and globals.
    n_imp_funcs = n_imp_globals = 0
    clock_import = None
    imp = get(2)
    if imp:
        ir = Reader(imp[1])
        for _ in range(ir.u()):
            module = ir.name()
            field = ir.name()
            kind = ir.byte()
            if kind == 0:
                ir.u()
                if (module, field) == ("wasi_snapshot_preview1", "clock_time_get"):
                    clock_import = n_imp_funcs
                n_imp_funcs += 1
            elif kind == 1:  # table
                ir.byte()
                flags = ir.byte()
                ir.u()
                if flags & 1:
                    ir.u()
            elif kind == 2:  # memory
                flags = ir.byte()
                ir.u()
                if flags & 1:
                    ir.u()
            elif kind == 3:
                ir.byte()
                ir.byte()
                n_imp_globals += 1
            else:
                raise SystemExit(f"prepare.py: import kind {kind}")

    fs = get(3)
    fr = Reader(fs[1])
    n_funcs = fr.u()
    f_init_new = n_imp_funcs + n_funcs
    f_realloc_new = f_init_new + 1
    f_clock_new = f_init_new + 2
    fs[1] = (
        leb_u(n_funcs + 3) + fs[1][fr.p :] + leb_u(t_void) + leb_u(t_realloc) + leb_u(t_clock)
    )

    # Globals: append `ready` and `bump`.
    gs = get(6)
    gr = Reader(gs[1])
    n_globals = gr.u()
    g_ready = n_imp_globals + n_globals
    g_bump = g_ready + 1

    # The arena, by its marker in an active data segment.
    ds = get(11)
    dr = Reader(ds[1])
    arena = None
    for _ in range(dr.u()):
        flags = dr.u()
        if flags == 0:
            offset = dr.i32_const_expr()
        elif flags == 2:
            dr.u()
            offset = dr.i32_const_expr()
        else:
            offset = None
        blob = dr.bytes(dr.u())
        at = blob.find(MARKER)
        if at >= 0 and offset is not None:
            arena = offset + at + len(MARKER)
            break
    if arena is None:
        raise SystemExit(
            "prepare.py: the adapter arena's marker is not in the module "
            "(is glomers.dev/maelstrom linked in?)"
        )
    start = (arena + 15) & ~15
    end = arena + ARENA_SIZE
    globals_new = [
        b"\x7f\x01\x41" + leb_s(0) + b"\x0b",
        b"\x7f\x01\x41" + leb_s(start) + b"\x0b",
    ]
    gs[1] = leb_u(n_globals + 2) + gs[1][gr.p :] + b"".join(globals_new)

    # Exports: find Go's, point the names at ours.
    es = get(7)
    er = Reader(es[1])
    exports = []
    go_init = go_realloc = None
    for _ in range(er.u()):
        name = er.name()
        kind = er.byte()
        idx = er.u()
        if kind == 0 and name == "_initialize":
            go_init = idx
            idx = f_init_new
        elif kind == 0 and name == "cabi_realloc":
            go_realloc = idx
            idx = f_realloc_new
        exports.append((name, kind, idx))
    if go_init is None or go_realloc is None:
        raise SystemExit("prepare.py: the module must export _initialize and cabi_realloc")
    es[1] = vec(
        [leb_u(len(n.encode())) + n.encode() + bytes([k]) + leb_u(i) for n, k, i in exports]
    )

    # Code: the two new bodies.
    call = lambda f: b"\x10" + leb_u(f)
    init_body = (
        b"\x00"  # no locals
        + call(go_init)
        + b"\x41\x01\x24" + leb_u(g_ready)  # ready = 1
        + b"\x0b"
    )
    # locals: one i32 (index 4) for the aligned pointer
    realloc_body = (
        b"\x01\x01\x7f"
        # if ready: return go_realloc(old, old_size, align, new_size)
        + b"\x23" + leb_u(g_ready)
        + b"\x04\x40"
        + b"\x20\x00\x20\x01\x20\x02\x20\x03" + call(go_realloc) + b"\x0f"
        + b"\x0b"
        # before Go is up: a fresh block only (old must be 0)
        + b"\x20\x00\x04\x40\x00\x0b"  # if old != 0: unreachable
        # p = (bump + align - 1) & -align
        + b"\x23" + leb_u(g_bump)
        + b"\x20\x02\x6a\x41\x01\x6b"  # bump + align - 1
        + b"\x41\x00\x20\x02\x6b\x71"  # & (0 - align)
        + b"\x22\x04"  # local.tee 4
        + b"\x20\x03\x6a"  # p + new_size
        + b"\x41" + leb_s(end) + b"\x4b"  # > end (unsigned)
        + b"\x04\x40\x00\x0b"  # then unreachable
        + b"\x20\x04\x20\x03\x6a\x24" + leb_u(g_bump)  # bump = p + new_size
        + b"\x20\x04"  # return p
        + b"\x0b"
    )
    # clock_time_get(id, precision, out): WASI's, plus 1 s on the monotonic clock (id 1).
    clock_body = (
        b"\x01\x01\x7f"
        + b"\x20\x00\x20\x01\x20\x02" + call(clock_import) + b"\x21\x03"
        + b"\x20\x03\x45\x20\x00\x41\x01\x46\x71"  # errno == 0 && id == 1
        + b"\x04\x40"
        + b"\x20\x02\x20\x02\x29\x03\x00"  # out, i64.load out
        + b"\x42" + leb_s(1_000_000_000) + b"\x7c"  # + 1 s
        + b"\x37\x03\x00"  # i64.store
        + b"\x0b"
        + b"\x20\x03\x0b"
    )
    if clock_import is None:
        raise SystemExit("prepare.py: the module does not import clock_time_get")
    wrapper = function_index(sections, "runtime.clock_time_get")
    cs = get(10)
    cr = Reader(cs[1])
    n_bodies = cr.u()
    bodies = []
    for i in range(n_bodies):
        size = cr.u()
        body = cs[1][cr.p : cr.p + size]
        cr.p += size
        if i + n_imp_funcs == wrapper:
            old = b"\x10" + leb_u(clock_import)
            if body.count(old) != 1:
                raise SystemExit("prepare.py: runtime.clock_time_get is not the wrapper expected")
            body = body.replace(old, b"\x10" + leb_u(f_clock_new))
        bodies.append(leb_u(len(body)) + body)
    cs[1] = (
        leb_u(n_bodies + 3)
        + b"".join(bodies)
        + leb_u(len(init_body)) + init_body
        + leb_u(len(realloc_body)) + realloc_body
        + leb_u(len(clock_body)) + clock_body
    )

    out = bytearray(b"\0asm\x01\0\0\0")
    for sid, payload in sections:
        out += section(sid, payload)
    with open(dst, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
