//go:build wasip1

package maelstrom

import "unsafe"

// adapterArena is where the WASI adapter's state lives: the adapter allocates it
// (its stack and its state, 64 KiB each) during the Go runtime's own start-up, before any Go function can be
// called, so tools/prepare.py gives the module a `cabi_realloc` that serves it
// from here until then. It finds the array by these marker bytes; the size after
// them must match ARENA_SIZE there.
var adapterArena = [25 + 136*1024]byte{103, 108, 111, 109, 101, 114, 115, 45, 97, 100, 97, 112, 116, 101, 114, 45, 97, 114, 101, 110, 97, 58, 118, 49, 58}

// arenaAddr keeps the arena in the binary (the linker drops unused variables).
var arenaAddr = uintptr(unsafe.Pointer(&adapterArena))
