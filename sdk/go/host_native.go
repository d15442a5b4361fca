//go:build !wasip1

// Natively a node runs as a plain Maelstrom binary (Run: JSON lines on stdin and
// stdout, timers on the real clock), or under TestNode (testing.go).

package maelstrom

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"
)

// argsOverride is set by TestNode while it builds a node.
var argsOverride []string

func guestArgs() []string {
	if argsOverride != nil {
		return argsOverride
	}
	if len(os.Args) > 1 {
		return os.Args[1:]
	}
	return nil
}

func registerNode(*Node) {}

type event struct {
	src, body string
	timer     uint64
}

// stdioHost writes messages to stdout and turns timers into events.
type stdioHost struct {
	n      *Node
	mu     sync.Mutex
	out    *bufio.Writer
	events chan event
	armed  map[uint64]*time.Timer
}

func defaultHost(n *Node) host {
	return &stdioHost{n: n, out: bufio.NewWriter(os.Stdout), events: make(chan event, 1024),
		armed: map[uint64]*time.Timer{}}
}

func (h *stdioHost) send(dest, body string) {
	line, _ := json.Marshal(struct {
		Src  string          `json:"src"`
		Dest string          `json:"dest"`
		Body json.RawMessage `json:"body"`
	}{h.n.ID(), dest, json.RawMessage(body)})
	h.mu.Lock()
	h.out.Write(append(line, '\n'))
	h.out.Flush()
	h.mu.Unlock()
}

func (h *stdioHost) setTimer(id, delayMs uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.armed[id]; t != nil {
		t.Stop()
	}
	h.armed[id] = time.AfterFunc(time.Duration(delayMs)*time.Millisecond, func() {
		h.events <- event{timer: id}
	})
}

func (h *stdioHost) cancelTimer(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.armed[id]; t != nil {
		t.Stop()
		delete(h.armed, id)
	}
}

// Run serves Maelstrom on stdin and stdout until stdin ends (natively; on wasm
// the component's export calls drive the node and Run returns at once).
func (n *Node) Run() error {
	h, ok := n.host.(*stdioHost)
	if !ok {
		return nil
	}
	lines := make(chan event)
	errs := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(os.Stdin, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				var m struct {
					Src  string          `json:"src"`
					Body json.RawMessage `json:"body"`
				}
				if json.Unmarshal(line, &m) == nil {
					lines <- event{src: m.Src, body: string(m.Body)}
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				errs <- err
				return
			}
		}
	}()
	for {
		select {
		case e := <-lines:
			n.onMessage(e.src, e.body)
		case e := <-h.events:
			h.mu.Lock()
			delete(h.armed, e.timer)
			h.mu.Unlock()
			n.onTimer(e.timer)
		case err := <-errs:
			return err
		}
	}
}
