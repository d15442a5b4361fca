// Package maelstrom is the glomers SDK for Go: a Maelstrom node in the style of
// Maelstrom's own Go library (Handle, Reply, Send, RPC, SyncRPC, the KV clients),
// built as a WebAssembly component that the glomers host runs.
//
// A node is single-threaded as far as its code can tell: every handler, RPC
// callback and timer runs in its own goroutine, but only one of them runs at a time
// (the SDK passes a baton), and an export call of the component returns only when
// none of them can run any more: each has finished or waits for a reply
// (SyncRPC, the KV clients). So handlers may block on RPCs yet need no locks.
package maelstrom

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
)

// HandlerFunc handles a request (or, for RPC, a reply). A returned *RPCError is
// sent back as an error reply with its code; a JSON decoding error as
// malformed-request (12); any other error as crash (13), logged on stderr.
// A panic is a crash of the whole node: the component traps.
type HandlerFunc func(msg Message) error

// TimerID names a timer, for CancelTimer.
type TimerID uint64

// DefaultRPCTimeout is how long RPC, SyncRPC (without a context deadline) and the
// KV clients wait for a reply before they get a timeout error (code 0).
const DefaultRPCTimeout = time.Second

type pendingRPC struct {
	dest    string
	cb      HandlerFunc // RPC
	wait    *waiter     // SyncRPC, Call
	timer   uint64
	timeout time.Duration
}

type timer struct {
	period time.Duration // 0 for one-shot
	fn     func()
}

// Node is a Maelstrom node.
type Node struct {
	mu          sync.Mutex
	id          string
	nodeIDs     []string
	nextMsgID   uint64
	nextTimerID uint64
	handlers    map[string]HandlerFunc
	pending     map[uint64]*pendingRPC
	timers      map[uint64]*timer
	onInit      []func()
	onStart     []func()
	onRestore   []func()
	handoff     any
	initMsg     Message

	host  host
	sched *sched
}

// NewNode returns a node with no handlers. On wasm the node the program's main
// creates last is the one the component runs.
func NewNode() *Node {
	n := &Node{
		handlers: map[string]HandlerFunc{},
		pending:  map[uint64]*pendingRPC{},
		timers:   map[uint64]*timer{},
		sched:    newSched(),
	}
	n.host = defaultHost(n)
	registerNode(n)
	return n
}

// ID is this node's id ("n1"), known once init has arrived.
func (n *Node) ID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// NodeIDs are all the nodes of the cluster, this one included.
func (n *Node) NodeIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.nodeIDs...)
}

// Peers are the other nodes.
func (n *Node) Peers() []string {
	me := n.ID()
	var out []string
	for _, id := range n.NodeIDs() {
		if id != me {
			out = append(out, id)
		}
	}
	return out
}

// Handle registers the handler for messages of type typ. "init" is answered by the
// SDK (init_ok); a handler for it runs afterwards, like OnInit.
func (n *Node) Handle(typ string, fn HandlerFunc) {
	if typ == "init" {
		n.OnInit(func() {
			if err := fn(n.initMsg); err != nil {
				logf("init handler failed: %v", err)
			}
		})
		return
	}
	n.handlers[typ] = fn
}

// OnInit runs fn once init has been answered.
func (n *Node) OnInit(fn func()) { n.onInit = append(n.onInit, fn) }

// OnStart runs fn once init has been answered and also after a restore (live swap):
// the place to start periodic timers.
func (n *Node) OnStart(fn func()) { n.onStart = append(n.onStart, fn) }

// OnRestore runs fn after this node took over a previous version's state.
func (n *Node) OnRestore(fn func()) { n.onRestore = append(n.onRestore, fn) }

// Handoff makes the node hand its state over in a live swap: state is a pointer to
// a value that encoding/json writes and reads (the "state" of the snapshot).
func (n *Node) Handoff(state any) { n.handoff = state }

// Go runs fn in a goroutine the SDK knows about, so it may use SyncRPC and the KV
// clients (a plain `go` statement's goroutine may not).
func (n *Node) Go(fn func()) { n.sched.spawn(fn) }

// Send sends body (any value that serialises to a JSON object) to dest.
func (n *Node) Send(dest string, body any) error {
	text, err := encode(body, "", 0, false)
	if err != nil {
		return err
	}
	n.host.send(dest, string(text))
	return nil
}

// Reply answers req with body, adding in_reply_to. A request without a msg_id
// gets no reply.
func (n *Node) Reply(req Message, body any) error {
	id, ok := req.msgID()
	if !ok {
		return nil
	}
	text, err := encode(body, "in_reply_to", id, true)
	if err != nil {
		return err
	}
	n.host.send(req.Src, string(text))
	return nil
}

// ReplyTo answers a kept request (see Request); one without a msg_id gets none.
func (n *Node) ReplyTo(req Request, body any) error {
	if req.MsgID == nil {
		return nil
	}
	text, err := encode(body, "in_reply_to", *req.MsgID, true)
	if err != nil {
		return err
	}
	n.host.send(req.Src, string(text))
	return nil
}

// Sleep blocks the calling goroutine (a handler, callback, timer or Go goroutine)
// for d, on the host's clock; other goroutines run meanwhile.
func (n *Node) Sleep(d time.Duration) {
	w := n.sched.newWaiter()
	n.After(d, func() { n.sched.resolve(w, Message{}) })
	n.sched.wait(w)
}

func (n *Node) newMsgID() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextMsgID++
	return n.nextMsgID
}

// RPC sends a request (the SDK sets its msg_id) and calls fn with the reply, or
// with a timeout error reply (code 0) after DefaultRPCTimeout. An error reply
// arrives as a message of type "error": msg.RPCError() returns it.
func (n *Node) RPC(dest string, body any, fn HandlerFunc) error {
	return n.RPCTimeout(dest, body, DefaultRPCTimeout, fn)
}

// RPCTimeout is RPC with its own timeout.
func (n *Node) RPCTimeout(dest string, body any, timeout time.Duration, fn HandlerFunc) error {
	return n.request(dest, body, timeout, &pendingRPC{cb: fn})
}

func (n *Node) request(dest string, body any, timeout time.Duration, p *pendingRPC) error {
	id := n.newMsgID()
	text, err := encode(body, "msg_id", id, true)
	if err != nil {
		return err
	}
	p.dest, p.timeout = dest, timeout
	p.timer = n.arm(timeout, 0, func() { n.timedOut(id) })
	n.mu.Lock()
	n.pending[id] = p
	n.mu.Unlock()
	n.host.send(dest, string(text))
	return nil
}

// SyncRPC sends a request and waits for its reply: the reply, or an *RPCError for
// an error reply or a timeout (code 0). The timeout is ctx's deadline if it has
// one, else DefaultRPCTimeout (the host's virtual clock drives it: ctx's own
// cancellation is not watched). Call it only from a handler, a callback, a timer
// or a goroutine started with Go.
func (n *Node) SyncRPC(ctx context.Context, dest string, body any) (Message, error) {
	timeout := DefaultRPCTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return n.syncRPC(dest, body, timeout)
}

func (n *Node) syncRPC(dest string, body any, timeout time.Duration) (Message, error) {
	if timeout < time.Millisecond {
		timeout = time.Millisecond
	}
	c := n.Call(dest, body, timeout)
	return c.Wait()
}

// Call is a request in flight (see Node.Call).
type Call struct {
	w   *waiter
	err error
}

// Call sends a request now and returns at once; Wait blocks for its reply. Several
// calls may be in flight at once and be waited for in any order.
func (n *Node) Call(dest string, body any, timeout time.Duration) *Call {
	if timeout < time.Millisecond {
		timeout = time.Millisecond
	}
	w := n.sched.newWaiter()
	err := n.request(dest, body, timeout, &pendingRPC{wait: w})
	return &Call{w: w, err: err}
}

// Wait returns the reply, or an *RPCError for an error reply or a timeout (code 0).
// Call it from a handler, callback, timer or Go goroutine.
func (c *Call) Wait() (Message, error) {
	if c.err != nil {
		return Message{}, c.err
	}
	msg := c.w.n.wait(c.w)
	if err := msg.RPCError(); err != nil {
		return msg, err
	}
	return msg, nil
}

func (n *Node) timedOut(id uint64) {
	n.mu.Lock()
	p := n.pending[id]
	delete(n.pending, id)
	n.mu.Unlock()
	if p == nil {
		return
	}
	body := fmt.Sprintf(`{"type":"error","code":0,"text":%q,"in_reply_to":%d}`,
		fmt.Sprintf("no reply from %s within %d ms", p.dest, p.timeout.Milliseconds()), id)
	n.resolve(p, Message{Src: p.dest, Dest: n.id, Body: json.RawMessage(body)})
}

// resolve hands a reply to whoever waits for it. Runs on the driver (export) side.
func (n *Node) resolve(p *pendingRPC, msg Message) {
	if p.wait != nil {
		n.sched.resolve(p.wait, msg)
		return
	}
	n.sched.spawn(func() {
		if err := p.cb(msg); err != nil {
			logf("RPC callback for a reply from %s failed: %v", msg.Src, err)
		}
	})
}

// After runs fn once, d from now.
func (n *Node) After(d time.Duration, fn func()) TimerID {
	return TimerID(n.arm(d, 0, fn))
}

// Every runs fn every d until the timer is cancelled.
func (n *Node) Every(d time.Duration, fn func()) TimerID {
	if d <= 0 {
		d = time.Millisecond
	}
	return TimerID(n.arm(d, d, fn))
}

// CancelTimer disarms a timer; a periodic timer may cancel itself from its fn.
func (n *Node) CancelTimer(id TimerID) {
	n.mu.Lock()
	_, ok := n.timers[uint64(id)]
	delete(n.timers, uint64(id))
	n.mu.Unlock()
	if ok {
		n.host.cancelTimer(uint64(id))
	}
}

func (n *Node) arm(d, period time.Duration, fn func()) uint64 {
	n.mu.Lock()
	n.nextTimerID++
	id := n.nextTimerID
	n.timers[id] = &timer{period: period, fn: fn}
	n.mu.Unlock()
	n.host.setTimer(id, millis(d))
	return id
}

func millis(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Millisecond - 1) / time.Millisecond)
}

// --- the export calls ---

// onMessage delivers one message and returns when no goroutine of the node can run.
func (n *Node) onMessage(src, text string) {
	defer n.sched.settle()
	var head struct {
		Type      string  `json:"type"`
		MsgID     *uint64 `json:"msg_id"`
		InReplyTo *uint64 `json:"in_reply_to"`
	}
	if !strings.HasPrefix(strings.TrimSpace(text), "{") || json.Unmarshal([]byte(text), &head) != nil {
		logf("dropping a message from %s whose body is not a JSON object with a numeric msg_id: %s", src, text)
		return
	}
	msg := Message{Src: src, Dest: n.id, Body: json.RawMessage(text), known: true}
	if head.MsgID != nil {
		msg.id, msg.hasID = *head.MsgID, true
	}
	switch {
	case head.InReplyTo != nil:
		n.mu.Lock()
		p := n.pending[*head.InReplyTo]
		delete(n.pending, *head.InReplyTo)
		n.mu.Unlock()
		if p == nil {
			return // its timeout has passed: nobody waits for it
		}
		n.CancelTimer(TimerID(p.timer))
		n.resolve(p, msg)
	case head.Type == "init":
		var b struct {
			NodeID  string   `json:"node_id"`
			NodeIDs []string `json:"node_ids"`
		}
		_ = json.Unmarshal([]byte(text), &b)
		n.mu.Lock()
		n.id, n.nodeIDs = b.NodeID, b.NodeIDs
		n.mu.Unlock()
		msg.Dest = b.NodeID
		n.initMsg = msg
		_ = n.Reply(msg, map[string]any{"type": "init_ok"})
		hooks := append(append([]func(){}, n.onInit...), n.onStart...)
		n.sched.spawn(func() {
			for _, h := range hooks {
				h()
			}
		})
	default:
		h := n.handlers[head.Type]
		if h == nil {
			if head.MsgID != nil {
				_ = n.Reply(msg, NewRPCError(NotSupported,
					fmt.Sprintf("this node does not handle messages of type %q", head.Type)))
			}
			return
		}
		n.sched.spawn(func() {
			if err := h(msg); err != nil {
				e := asRPCError(err, fmt.Sprintf("%s from %s", head.Type, src))
				if head.MsgID != nil {
					_ = n.Reply(msg, e)
				}
			}
		})
	}
}

// onTimer fires a timer; ids this node does not know (an old version's) are ignored.
func (n *Node) onTimer(id uint64) {
	defer n.sched.settle()
	n.mu.Lock()
	t := n.timers[id]
	if t != nil && t.period == 0 {
		delete(n.timers, id)
	}
	n.mu.Unlock()
	if t == nil {
		return
	}
	n.sched.spawn(func() {
		t.fn()
		if t.period > 0 {
			n.mu.Lock()
			still := n.timers[id] == t
			n.mu.Unlock()
			if still {
				n.host.setTimer(id, millis(t.period))
			}
		}
	})
}

// snapshotEnvelope is the handoff format every glomers SDK writes and reads (the
// Rust SDK's `Snapshot` in guest-sdk/src/runtime.rs).
type snapshotEnvelope struct {
	GlomersSnapshot uint32          `json:"glomers_snapshot"`
	NodeID          string          `json:"node_id"`
	NodeIDs         []string        `json:"node_ids"`
	NextMsgID       uint64          `json:"next_msg_id"`
	NextTimerID     uint64          `json:"next_timer_id"`
	State           json.RawMessage `json:"state"`
}

const snapshotFormat = 1

// snapshot is the node's handoff, or nil when it has none.
func (n *Node) snapshot() []byte {
	if n.handoff == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.id == "" {
		return nil
	}
	state, err := json.Marshal(n.handoff)
	if err != nil {
		logf("cannot hand the state over (it starts fresh): %v", err)
		return nil
	}
	ids := n.nodeIDs
	if ids == nil {
		ids = []string{}
	}
	out, err := json.Marshal(snapshotEnvelope{snapshotFormat, n.id, ids, n.nextMsgID, n.nextTimerID, state})
	if err != nil {
		return nil
	}
	return out
}

// restore takes over a previous version's snapshot in place of init.
func (n *Node) restore(data []byte) error {
	defer n.sched.settle()
	var s snapshotEnvelope
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("not a glomers snapshot: %v", err)
	}
	if s.GlomersSnapshot != snapshotFormat {
		return fmt.Errorf("snapshot format %d (this SDK reads %d)", s.GlomersSnapshot, snapshotFormat)
	}
	if n.handoff == nil {
		return fmt.Errorf("this version does not take state over (no Handoff)")
	}
	if err := json.Unmarshal(s.State, n.handoff); err != nil {
		return fmt.Errorf("the state does not decode: %v", err)
	}
	n.mu.Lock()
	n.id, n.nodeIDs = s.NodeID, s.NodeIDs
	n.nextMsgID = max(n.nextMsgID, s.NextMsgID)
	n.nextTimerID = max(n.nextTimerID, s.NextTimerID)
	n.mu.Unlock()
	hooks := append(append([]func(){}, n.onStart...), n.onRestore...)
	n.sched.spawn(func() {
		for _, h := range hooks {
			h()
		}
	})
	return nil
}

// --- the scheduler ---

// sched runs the node's goroutines one at a time, in the order they became ready
// (spawned, or woken by a reply or a timer), like the Rust SDK's ready queue: a
// goroutine runs only when handed the baton, and hands it on when it finishes or
// waits. live counts the goroutines ready or running, so an export call can wait
// until none is (settle).
type sched struct {
	mu     sync.Mutex
	cond   *sync.Cond
	live   int
	holder bool
	queue  []chan struct{}
	idle   []*worker
}

// worker is a goroutine kept for the next spawn: starting a goroutine costs more
// than handing one a job, on wasm.
type worker struct{ jobs chan job }

type job struct {
	fn   func()
	turn chan struct{}
}

func (w *worker) loop(s *sched) {
	for j := range w.jobs {
		<-j.turn
		j.fn()
		s.mu.Lock()
		s.live--
		s.idle = append(s.idle, w)
		s.handOn()
		s.mu.Unlock()
	}
}

func newSched() *sched {
	s := &sched{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// ready queues a turn (with s.mu held) and starts it if nobody runs.
func (s *sched) ready(turn chan struct{}) {
	s.queue = append(s.queue, turn)
	s.live++
	if !s.holder {
		s.handOn()
	}
}

// handOn gives the baton to the next ready goroutine, if any (with s.mu held and
// the baton free).
func (s *sched) handOn() {
	if len(s.queue) == 0 {
		s.holder = false
		if s.live == 0 {
			s.cond.Broadcast()
		}
		return
	}
	turn := s.queue[0]
	s.queue = s.queue[1:]
	s.holder = true
	close(turn)
}

// spawn runs fn in a goroutine of the node, once its turn comes. A panic in fn is
// not recovered: it crashes the node (on wasm, the component traps).
func (s *sched) spawn(fn func()) {
	turn := make(chan struct{})
	s.mu.Lock()
	s.ready(turn)
	var w *worker
	if k := len(s.idle); k > 0 {
		w = s.idle[k-1]
		s.idle = s.idle[:k-1]
	}
	s.mu.Unlock()
	if w != nil {
		w.jobs <- job{fn, turn}
		return
	}
	w = &worker{jobs: make(chan job, 1)}
	w.jobs <- job{fn, turn}
	go w.loop(s)
}

// waiter is one value a goroutine of the node may wait for (a reply, a sleep).
type waiter struct {
	n       *sched
	turn    chan struct{}
	waiting bool
	done    bool
	msg     Message
}

func (s *sched) newWaiter() *waiter { return &waiter{n: s, turn: make(chan struct{})} }

// wait returns w's value: at once if it came already, else it hands the baton on
// until resolve makes it ready again, and its turn comes.
func (s *sched) wait(w *waiter) Message {
	s.mu.Lock()
	if w.done {
		s.mu.Unlock()
		return w.msg
	}
	w.waiting = true
	s.live--
	s.handOn()
	s.mu.Unlock()
	<-w.turn
	return w.msg
}

// resolve gives w its value, making its goroutine ready if it waits.
func (s *sched) resolve(w *waiter, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.done {
		return
	}
	w.done, w.msg = true, m
	if w.waiting {
		s.ready(w.turn)
	}
}

// settle returns when no goroutine of the node is ready or running.
func (s *sched) settle() {
	s.mu.Lock()
	for s.live > 0 {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "glomers: "+format+"\n", args...)
}


// RandomU64 is a random number: from a generator the Go runtime seeds from the
// host's random source (WASI's on wasm) when the instance starts.
func RandomU64() uint64 { return rand.Uint64() }
