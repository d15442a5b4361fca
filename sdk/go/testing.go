//go:build !wasip1

package maelstrom

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Sent is one message a node under test sent.
type Sent struct {
	Dest string
	Body map[string]any
	Raw  string
}

// TestNode runs a node natively against a double of the host: it records what the
// node sends and arms, and fires timers on a virtual clock (Advance). Like the Rust
// SDK's glomers::testing::TestNode.
type TestNode struct {
	Node *Node
	h    *testHost
}

type testTimer struct {
	id  uint64
	due uint64
	seq uint64
}

type testHost struct {
	now    uint64
	seq    uint64
	sent   []Sent
	timers map[uint64]testTimer
}

func (h *testHost) send(dest, body string) {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		panic(fmt.Sprintf("the node sent a body that is not a JSON object: %s", body))
	}
	h.sent = append(h.sent, Sent{Dest: dest, Body: m, Raw: body})
}

func (h *testHost) setTimer(id, delayMs uint64) {
	h.seq++
	h.timers[id] = testTimer{id, h.now + delayMs, h.seq}
}

func (h *testHost) cancelTimer(id uint64) { delete(h.timers, id) }

func (h *testHost) take() []Sent {
	out := h.sent
	h.sent = nil
	return out
}

// build makes a node with build, with these guest arguments, on a test host.
func build(build func() *Node, args []string) (*Node, *testHost) {
	if args == nil {
		args = []string{}
	}
	argsOverride = args
	n := build()
	argsOverride = nil
	h := &testHost{timers: map[uint64]testTimer{}}
	n.host = h
	return n, h
}

// NewTestNode builds a node (build is what the program's main uses) with the guest
// arguments args, and initialises it as node id of the cluster ids. The init_ok
// is checked and dropped.
func NewTestNode(b func() *Node, id string, ids []string, args ...string) *TestNode {
	n, h := build(b, args)
	t := &TestNode{Node: n, h: h}
	out := t.Deliver("c0", map[string]any{"type": "init", "msg_id": 0, "node_id": id, "node_ids": ids})
	if len(out) == 0 || out[0].Body["type"] != "init_ok" {
		panic(fmt.Sprintf("init was not answered with init_ok: %v", out))
	}
	t.h.sent = out[1:]
	return t
}

// RestoreTestNode builds a node and hands it a snapshot in place of init.
func RestoreTestNode(b func() *Node, snapshot []byte, args ...string) (*TestNode, error) {
	n, h := build(b, args)
	if err := n.restore(snapshot); err != nil {
		return nil, err
	}
	return &TestNode{Node: n, h: h}, nil
}

// Deliver hands the node a message (body: a JSON-serialisable object or a JSON
// text) and returns what it sent in response.
func (t *TestNode) Deliver(src string, body any) []Sent {
	var text string
	switch b := body.(type) {
	case string:
		text = b
	case []byte:
		text = string(b)
	default:
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		text = string(raw)
	}
	t.Node.onMessage(src, text)
	return t.h.take()
}

// Advance moves the virtual clock ms forward, firing due timers in order, and
// returns everything sent meanwhile.
func (t *TestNode) Advance(ms uint64) []Sent {
	end := t.h.now + ms
	for {
		var due []testTimer
		for _, tm := range t.h.timers {
			if tm.due <= end {
				due = append(due, tm)
			}
		}
		if len(due) == 0 {
			break
		}
		sort.Slice(due, func(i, j int) bool {
			if due[i].due != due[j].due {
				return due[i].due < due[j].due
			}
			return due[i].seq < due[j].seq
		})
		next := due[0]
		delete(t.h.timers, next.id)
		if next.due > t.h.now {
			t.h.now = next.due
		}
		t.Node.onTimer(next.id)
	}
	t.h.now = end
	return t.h.take()
}

// Now is the virtual clock, in ms.
func (t *TestNode) Now() uint64 { return t.h.now }

// Armed is how many timers are armed.
func (t *TestNode) Armed() int { return len(t.h.timers) }

// Snapshot is the node's handoff snapshot (nil when it has none).
func (t *TestNode) Snapshot() []byte { return t.Node.snapshot() }
