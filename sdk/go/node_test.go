//go:build !wasip1

package maelstrom

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

func one(t *testing.T, out []Sent) Sent {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("want one message, got %d: %v", len(out), out)
	}
	return out[0]
}

func echoNode() *Node {
	n := NewNode()
	n.Handle("echo", func(msg Message) error {
		var b struct {
			Echo any `json:"echo"`
		}
		if err := json.Unmarshal(msg.Body, &b); err != nil {
			return err
		}
		return n.Reply(msg, map[string]any{"type": "echo_ok", "echo": b.Echo})
	})
	n.Handle("fail", func(msg Message) error { return NewRPCError(KeyDoesNotExist, "no such key") })
	n.Handle("oops", func(msg Message) error { return errors.New("a plain error") })
	n.Handle("typed", func(msg Message) error {
		var b struct {
			N int `json:"n"`
		}
		if err := msg.Decode(&b); err != nil {
			return err
		}
		return n.Reply(msg, map[string]any{"type": "typed_ok", "n": b.N})
	})
	return n
}

func TestInitAndEcho(t *testing.T) {
	tn := NewTestNode(echoNode, "n1", []string{"n1", "n2"})
	if tn.Node.ID() != "n1" || len(tn.Node.NodeIDs()) != 2 || !reflect.DeepEqual(tn.Node.Peers(), []string{"n2"}) {
		t.Fatalf("ids: %v %v", tn.Node.ID(), tn.Node.NodeIDs())
	}
	m := one(t, tn.Deliver("c1", map[string]any{"type": "echo", "echo": "hi", "msg_id": 4}))
	if m.Dest != "c1" || m.Body["echo"] != "hi" || num(m.Body["in_reply_to"]) != 4 || m.Body["type"] != "echo_ok" {
		t.Fatalf("reply: %v", m)
	}
}

func TestErrorReplies(t *testing.T) {
	tn := NewTestNode(echoNode, "n1", []string{"n1"})
	cases := []struct {
		body string
		code int
	}{
		{`{"type":"frobnicate","msg_id":5}`, NotSupported},
		{`{"type":"fail","msg_id":6}`, KeyDoesNotExist},
		{`{"type":"oops","msg_id":7}`, Crash},
		{`{"type":"echo","msg_id":8,"echo":1}`, -1},
		{`{"type":"typed","msg_id":9,"n":"not a number"}`, MalformedRequest},
	}
	for _, c := range cases {
		m := one(t, tn.Deliver("c1", c.body))
		if c.code < 0 {
			if m.Body["type"] != "echo_ok" {
				t.Fatalf("%s: %v", c.body, m)
			}
			continue
		}
		if m.Body["type"] != "error" || num(m.Body["code"]) != c.code {
			t.Fatalf("%s: want code %d, got %v", c.body, c.code, m.Body)
		}
	}
	// A request without msg_id gets no reply; a non-object body is dropped.
	if out := tn.Deliver("c1", `{"type":"fail"}`); len(out) != 0 {
		t.Fatalf("%v", out)
	}
	if out := tn.Deliver("c1", `[1,2]`); len(out) != 0 {
		t.Fatalf("%v", out)
	}
}

func TestPanicCrashes(t *testing.T) {
	// A panic in a handler is not turned into an error reply: it propagates (on
	// wasm, the component traps and the host replies 13 and restarts the node).
	// Natively it would kill the test binary, so check the handler runs unguarded
	// by running the dispatch in a subprocess-free way: recover at the top.
	n := NewNode()
	n.Handle("boom", func(Message) error { panic("kaboom") })
	if n.sched == nil {
		t.Fatal("no scheduler")
	}
	// spawn must not recover: run fn directly through the same path.
	got := make(chan any, 1)
	func() {
		defer func() { got <- recover() }()
		n.handlers["boom"](Message{})
	}()
	if v := <-got; v != "kaboom" {
		t.Fatalf("recovered %v", v)
	}
}

func rpcNode() *Node {
	n := NewNode()
	n.Handle("ask", func(msg Message) error {
		return n.RPC("n2", map[string]any{"type": "question"}, func(reply Message) error {
			if err := reply.RPCError(); err != nil {
				return n.Reply(msg, map[string]any{"type": "ask_ok", "error": ErrorCode(err)})
			}
			var b struct {
				Answer int `json:"answer"`
			}
			_ = json.Unmarshal(reply.Body, &b)
			return n.Reply(msg, map[string]any{"type": "ask_ok", "answer": b.Answer})
		})
	})
	n.Handle("sync", func(msg Message) error {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		reply, err := n.SyncRPC(ctx, "n2", map[string]any{"type": "question"})
		if err != nil {
			return err
		}
		var b struct {
			Answer int `json:"answer"`
		}
		_ = json.Unmarshal(reply.Body, &b)
		return n.Reply(msg, map[string]any{"type": "sync_ok", "answer": b.Answer})
	})
	return n
}

func TestRPCCallback(t *testing.T) {
	tn := NewTestNode(rpcNode, "n1", []string{"n1", "n2"})
	q := one(t, tn.Deliver("c1", `{"type":"ask","msg_id":1}`))
	if q.Dest != "n2" || q.Body["type"] != "question" || q.Body["msg_id"] == nil {
		t.Fatalf("%v", q)
	}
	id := num(q.Body["msg_id"])
	a := one(t, tn.Deliver("n2", map[string]any{"type": "question_ok", "answer": 42, "in_reply_to": id}))
	if a.Dest != "c1" || num(a.Body["answer"]) != 42 {
		t.Fatalf("%v", a)
	}
	if tn.Armed() != 0 {
		t.Fatalf("the timeout timer is still armed")
	}
	// An error reply arrives as an error.
	q = one(t, tn.Deliver("c1", `{"type":"ask","msg_id":2}`))
	a = one(t, tn.Deliver("n2", map[string]any{"type": "error", "code": 11, "in_reply_to": q.Body["msg_id"]}))
	if num(a.Body["error"]) != 11 {
		t.Fatalf("%v", a)
	}
	// No reply: a timeout (code 0) after the default timeout; a late reply is dropped.
	q = one(t, tn.Deliver("c1", `{"type":"ask","msg_id":3}`))
	if out := tn.Advance(999); len(out) != 0 {
		t.Fatalf("early: %v", out)
	}
	a = one(t, tn.Advance(1))
	if a.Body["error"] == nil || num(a.Body["error"]) != Timeout {
		t.Fatalf("%v", a)
	}
	if out := tn.Deliver("n2", map[string]any{"type": "question_ok", "in_reply_to": q.Body["msg_id"]}); len(out) != 0 {
		t.Fatalf("late reply: %v", out)
	}
}

func TestSyncRPC(t *testing.T) {
	tn := NewTestNode(rpcNode, "n1", []string{"n1", "n2"})
	q := one(t, tn.Deliver("c1", `{"type":"sync","msg_id":1}`))
	q2 := one(t, tn.Deliver("c2", `{"type":"sync","msg_id":1}`))
	// Two handlers wait at once; answer the second first.
	a := one(t, tn.Deliver("n2", map[string]any{"type": "question_ok", "answer": 2, "in_reply_to": q2.Body["msg_id"]}))
	if a.Dest != "c2" || num(a.Body["answer"]) != 2 {
		t.Fatalf("%v", a)
	}
	a = one(t, tn.Deliver("n2", map[string]any{"type": "question_ok", "answer": 1, "in_reply_to": q.Body["msg_id"]}))
	if a.Dest != "c1" || num(a.Body["answer"]) != 1 {
		t.Fatalf("%v", a)
	}
	// Timeout from the context's deadline: the handler's error reply is code 0.
	one(t, tn.Deliver("c1", `{"type":"sync","msg_id":2}`))
	a = one(t, tn.Advance(500))
	if a.Body["type"] != "error" || num(a.Body["code"]) != Timeout {
		t.Fatalf("%v", a)
	}
}

func kvNode() *Node {
	n := NewNode()
	kv := NewLinKV(n)
	n.Handle("add", func(msg Message) error {
		ctx := context.Background()
		for {
			v, err := kv.ReadInt(ctx, "k")
			if ErrorCode(err) == KeyDoesNotExist {
				v, err = 0, nil
			}
			if err != nil {
				return err
			}
			err = kv.CompareAndSwap(ctx, "k", v, v+1, true)
			if err == nil {
				return n.Reply(msg, map[string]any{"type": "add_ok", "value": v + 1})
			}
			if !IsRetryable(err) {
				return err
			}
		}
	})
	return n
}

func TestKV(t *testing.T) {
	tn := NewTestNode(kvNode, "n1", []string{"n1"})
	r := one(t, tn.Deliver("c1", `{"type":"add","msg_id":1}`))
	if r.Dest != "lin-kv" || r.Body["type"] != "read" || r.Body["key"] != "k" {
		t.Fatalf("%v", r)
	}
	c := one(t, tn.Deliver("lin-kv", map[string]any{"type": "error", "code": 20, "in_reply_to": r.Body["msg_id"]}))
	if c.Body["type"] != "cas" || num(c.Body["from"]) != 0 || num(c.Body["to"]) != 1 || c.Body["create_if_not_exists"] != true {
		t.Fatalf("%v", c)
	}
	// Lost the race: read again.
	r = one(t, tn.Deliver("lin-kv", map[string]any{"type": "error", "code": 22, "in_reply_to": c.Body["msg_id"]}))
	c = one(t, tn.Deliver("lin-kv", map[string]any{"type": "read_ok", "value": 5, "in_reply_to": r.Body["msg_id"]}))
	if num(c.Body["from"]) != 5 || num(c.Body["to"]) != 6 {
		t.Fatalf("%v", c)
	}
	a := one(t, tn.Deliver("lin-kv", map[string]any{"type": "cas_ok", "in_reply_to": c.Body["msg_id"]}))
	if a.Dest != "c1" || num(a.Body["value"]) != 6 {
		t.Fatalf("%v", a)
	}
}

func TestTimers(t *testing.T) {
	var ticks, once int
	var every TimerID
	build := func() *Node {
		n := NewNode()
		n.OnStart(func() {
			every = n.Every(100*time.Millisecond, func() {
				ticks++
				if ticks == 3 {
					n.CancelTimer(every)
				}
			})
			n.After(250*time.Millisecond, func() { once++ })
			cancelled := n.After(50*time.Millisecond, func() { t.Error("cancelled timer fired") })
			n.CancelTimer(cancelled)
		})
		return n
	}
	tn := NewTestNode(build, "n1", []string{"n1"})
	tn.Advance(1000)
	if ticks != 3 || once != 1 || tn.Armed() != 0 {
		t.Fatalf("ticks %d once %d armed %d", ticks, once, tn.Armed())
	}
	// An id this node never armed (an old version's) is ignored.
	tn.Node.onTimer(12345)
}

func TestArgs(t *testing.T) {
	a := ArgsFrom([]string{"--", "seq-kv", "--n=3", "--n", "4", "--on", "--m", "x"})
	if a.Uint("--n", 0) != 4 || !a.Flag("--on") || a.Flag("--off") || a.String("--m", "") != "x" {
		t.Fatal("values")
	}
	if p, ok := a.Positional(); !ok || p != "seq-kv" {
		t.Fatal("positional")
	}
	if len(a.Finish()) != 0 {
		t.Fatal("problems")
	}
	b := ArgsFrom([]string{"--n", "soon", "--k", "--stray", "word"})
	if b.Uint("--n", 7) != 7 {
		t.Fatal("default")
	}
	if _, ok := b.Value("--k"); ok {
		t.Fatal("--k has no value")
	}
	p := b.Finish()
	if len(p) != 4 || !strings.Contains(p[0], `--n "soon"`) || !strings.Contains(p[1], "--k needs a value") {
		t.Fatalf("%q", p)
	}
	// TestNode passes guest arguments.
	var got uint64
	NewTestNode(func() *Node { got = NewArgs().Uint("--down-ms", 1); return NewNode() }, "n1", []string{"n1"}, "--down-ms=300")
	if got != 300 {
		t.Fatalf("got %d", got)
	}
}

type counter struct {
	Values map[string]int `json:"values"`
}

func TestSnapshotRestore(t *testing.T) {
	build := func() *Node {
		n := NewNode()
		st := &counter{Values: map[string]int{}}
		n.Handoff(st)
		n.Handle("add", func(msg Message) error {
			st.Values[n.ID()]++
			_ = n.RPC("n2", map[string]any{"type": "ping"}, func(Message) error { return nil })
			return n.Reply(msg, map[string]any{"type": "add_ok"})
		})
		n.Handle("read", func(msg Message) error {
			return n.Reply(msg, map[string]any{"type": "read_ok", "value": st.Values})
		})
		return n
	}
	tn := NewTestNode(build, "n1", []string{"n1", "n2"})
	tn.Deliver("c1", `{"type":"add","msg_id":1}`)
	snap := tn.Snapshot()
	var env map[string]any
	if err := json.Unmarshal(snap, &env); err != nil {
		t.Fatal(err)
	}
	keys := []string{"glomers_snapshot", "node_id", "node_ids", "next_msg_id", "next_timer_id", "state"}
	if len(env) != len(keys) {
		t.Fatalf("envelope %v", env)
	}
	for _, k := range keys {
		if _, ok := env[k]; !ok {
			t.Fatalf("no %s in %s", k, snap)
		}
	}
	if num(env["next_msg_id"]) != 1 || num(env["next_timer_id"]) != 1 {
		t.Fatalf("%s", snap)
	}
	// A snapshot as the Rust SDK writes it (guest-sdk/src/runtime.rs, Snapshot).
	rust := `{"glomers_snapshot":1,"node_id":"n3","node_ids":["n1","n2","n3"],"next_msg_id":41,"next_timer_id":17,"state":{"values":{"n3":9}}}`
	r, err := RestoreTestNode(build, []byte(rust))
	if err != nil {
		t.Fatal(err)
	}
	m := one(t, r.Deliver("c1", `{"type":"add","msg_id":1}`)[1:])
	if m.Dest != "c1" {
		t.Fatalf("%v", m)
	}
	if r.Node.ID() != "n3" {
		t.Fatal(r.Node.ID())
	}
	out := r.Deliver("c1", `{"type":"read","msg_id":2}`)
	if v := out[0].Body["value"].(map[string]any); num(v["n3"]) != 10 {
		t.Fatalf("%v", out)
	}
	snap2 := r.Snapshot()
	json.Unmarshal(snap2, &env)
	if num(env["next_msg_id"]) != 42 || num(env["next_timer_id"]) != 18 {
		t.Fatalf("ids not continued: %s", snap2)
	}
	if _, err := RestoreTestNode(build, []byte(`{"glomers_snapshot":2}`)); err == nil {
		t.Fatal("format 2 accepted")
	}
	if _, err := RestoreTestNode(echoNode, []byte(rust)); err == nil {
		t.Fatal("a node without Handoff took state")
	}
	if NewTestNode(echoNode, "n1", []string{"n1"}).Snapshot() != nil {
		t.Fatal("a node without Handoff has a snapshot")
	}
}

func TestEncode(t *testing.T) {
	cases := []struct {
		body any
		want string
	}{
		{map[string]any{"type": "x"}, `{"in_reply_to":7,"type":"x"}`},
		{json.RawMessage(`{}`), `{"in_reply_to":7}`},
		{json.RawMessage(`{"a":{"in_reply_to":1},"in_reply_to":3}`), `{"a":{"in_reply_to":1},"in_reply_to":7}`},
	}
	for _, c := range cases {
		got, err := encode(c.body, "in_reply_to", 7, true)
		if err != nil || string(got) != c.want {
			t.Fatalf("%v: %s %v", c.body, got, err)
		}
	}
	if _, err := encode([]int{1}, "", 0, false); err == nil {
		t.Fatal("a list body")
	}
}

func TestCallsInFlightAtOnce(t *testing.T) {
	build := func() *Node {
		n := NewNode()
		n.Handle("gather", func(msg Message) error {
			a := n.Call("n2", map[string]any{"type": "q"}, time.Second)
			b := n.Call("n3", map[string]any{"type": "q"}, time.Second)
			ra, err := a.Wait()
			if err != nil {
				return err
			}
			rb, err := b.Wait()
			if err != nil {
				return err
			}
			return n.Reply(msg, map[string]any{"type": "gather_ok", "from": []string{ra.Src, rb.Src}})
		})
		return n
	}
	tn := NewTestNode(build, "n1", []string{"n1", "n2", "n3"})
	out := tn.Deliver("c1", `{"type":"gather","msg_id":1}`)
	if len(out) != 2 {
		t.Fatalf("%v", out)
	}
	// The second answers first: nothing may hang.
	if o := tn.Deliver("n3", map[string]any{"type": "q_ok", "in_reply_to": out[1].Body["msg_id"]}); len(o) != 0 {
		t.Fatalf("%v", o)
	}
	r := one(t, tn.Deliver("n2", map[string]any{"type": "q_ok", "in_reply_to": out[0].Body["msg_id"]}))
	if r.Body["type"] != "gather_ok" {
		t.Fatalf("%v", r)
	}
	// Sleep.
	slept := false
	tn2 := NewTestNode(func() *Node {
		n := NewNode()
		n.Handle("nap", func(msg Message) error {
			n.Sleep(50 * time.Millisecond)
			slept = true
			return n.Reply(msg, map[string]any{"type": "nap_ok"})
		})
		return n
	}, "n1", []string{"n1"})
	if o := tn2.Deliver("c1", `{"type":"nap","msg_id":1}`); len(o) != 0 || slept {
		t.Fatal("woke early")
	}
	if one(t, tn2.Advance(50)).Body["type"] != "nap_ok" {
		t.Fatal("no nap_ok")
	}
}
