//go:build wasip1

// The component's side of the WIT world glomers:node/handoff (wit/node.wit), by
// hand in the canonical ABI: strings and lists as (pointer, length) pairs in this
// module's memory, `cabi_realloc` for the host to allocate arguments in, and a
// return area for results that do not fit in one core value.

package maelstrom

import (
	"os"
	"unsafe"
)

//go:wasmimport glomers:node/host@0.1.0 send
func hostSend(destPtr unsafe.Pointer, destLen uint32, bodyPtr unsafe.Pointer, bodyLen uint32)

//go:wasmimport glomers:node/host@0.1.0 set-timer
func hostSetTimer(id uint64, delayMs uint64)

//go:wasmimport glomers:node/host@0.1.0 cancel-timer
func hostCancelTimer(id uint64)

type wasmHost struct{}

func (wasmHost) send(dest, body string) {
	hostSend(unsafe.Pointer(unsafe.StringData(dest)), uint32(len(dest)),
		unsafe.Pointer(unsafe.StringData(body)), uint32(len(body)))
}
func (wasmHost) setTimer(id, delayMs uint64) { hostSetTimer(id, delayMs) }
func (wasmHost) cancelTimer(id uint64)       { hostCancelTimer(id) }

func defaultHost(*Node) host { return wasmHost{} }

func guestArgs() []string {
	if len(os.Args) > 1 {
		return os.Args[1:]
	}
	return nil
}

var current *Node

func registerNode(n *Node) { current = n }

// Run does nothing on wasm: the node is driven by the component's export calls.
func (n *Node) Run() error { return nil }

// The program's main, which builds the node. A reactor (-buildmode=c-shared) never
// runs main by itself, so the first export call does.
//
//go:linkname userMain main.main
func userMain()

var started bool

func theNode() *Node {
	if !started {
		started = true
		if arenaAddr == 0 {
			panic("glomers: no adapter arena")
		}
		userMain()
		if current == nil {
			panic("glomers: main built no node (maelstrom.NewNode)")
		}
	}
	return current
}

// cabi_realloc is called by the host while it lowers an export call's arguments,
// and the canonical ABI forbids leaving the instance then: no import may be called.
// Go's allocator may call one (the clock, in allocSpan or gcStart), so arguments
// are placed in this static arena instead (no Go allocation at all), from its
// start again at every export call once the arguments are copied out. Only an
// argument that does not fit goes to Go's heap, which may then trap.
var argArena [8 << 20]byte
var argUsed uintptr
var spill [4][]uint64
var spilled int

var empty uint64

//go:wasmexport cabi_realloc
func cabiRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if newSize == 0 {
		return unsafe.Pointer(&empty)
	}
	a := uintptr(max(align, 1))
	start := (argUsed + a - 1) &^ (a - 1)
	var p unsafe.Pointer
	if start+uintptr(newSize) <= uintptr(len(argArena)) {
		p = unsafe.Pointer(&argArena[start])
		argUsed = start + uintptr(newSize)
	} else {
		buf := make([]uint64, (newSize+7)/8)
		spill[spilled%len(spill)] = buf
		spilled++
		p = unsafe.Pointer(&buf[0])
	}
	if old != nil && oldSize > 0 {
		copy(unsafe.Slice((*byte)(p), newSize), unsafe.Slice((*byte)(old), min(oldSize, newSize)))
	}
	return p
}

// released: the arguments have been copied out.
func released() {
	argUsed = 0
	if spilled > 0 {
		spill = [4][]uint64{}
		spilled = 0
	}
}

func str(p unsafe.Pointer, n uint32) string {
	if n == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(p), n))
}

//go:wasmexport on-message
func onMessage(srcPtr unsafe.Pointer, srcLen uint32, bodyPtr unsafe.Pointer, bodyLen uint32) {
	src, body := str(srcPtr, srcLen), str(bodyPtr, bodyLen)
	released()
	theNode().onMessage(src, body)
}

//go:wasmexport on-timer
func onTimer(id uint64) {
	theNode().onTimer(id)
}

// retArea is the return area of snapshot and restore: a discriminant byte at 0,
// then a (pointer, length) pair at 4 and 8.
var retArea [3]uint32

// keep holds the list or string a result points at until the next call.
var keep []byte

//go:wasmexport snapshot
func snapshot() unsafe.Pointer {
	keep = theNode().snapshot()
	retArea = [3]uint32{}
	if keep != nil {
		retArea[0] = 1
		retArea[1] = uint32(uintptr(unsafe.Pointer(unsafe.SliceData(keep))))
		retArea[2] = uint32(len(keep))
	}
	return unsafe.Pointer(&retArea)
}

//go:wasmexport restore
func restore(ptr unsafe.Pointer, n uint32) unsafe.Pointer {
	data := []byte(str(ptr, n))
	released()
	retArea = [3]uint32{}
	keep = nil
	if err := theNode().restore(data); err != nil {
		keep = []byte(err.Error())
		retArea[0] = 1
		retArea[1] = uint32(uintptr(unsafe.Pointer(unsafe.SliceData(keep))))
		retArea[2] = uint32(len(keep))
	}
	return unsafe.Pointer(&retArea)
}
