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

// pins keeps what cabi_realloc handed out alive until the export call that uses it
// has copied it (the Go heap does not move, but it collects).
var pins [][]uint64

var empty uint64

//go:wasmexport cabi_realloc
func cabiRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if newSize == 0 {
		return unsafe.Pointer(&empty)
	}
	buf := make([]uint64, (newSize+7)/8)
	p := unsafe.Pointer(&buf[0])
	if old != nil && oldSize > 0 {
		copy(unsafe.Slice((*byte)(p), newSize), unsafe.Slice((*byte)(old), min(oldSize, newSize)))
	}
	pins = append(pins, buf)
	return p
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
	pins = nil
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
	pins = nil
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
