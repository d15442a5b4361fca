package maelstrom

// host is everything a node asks of the outside world: the imports of the WIT
// world glomers:node (wit/node.wit). On wasm (host_wasip1.go) these are the
// component's imports; natively (host_native.go) a stdin/stdout loop for running
// as a plain Maelstrom binary, and TestNode's double (testing.go).
type host interface {
	send(dest, body string)
	setTimer(id, delayMs uint64)
	cancelTimer(id uint64)
}
