package main

import (
	"encoding/json"
	"testing"

	"glomers.dev/maelstrom"
)

func body(t *testing.T, out []maelstrom.Sent) map[string]any {
	t.Helper()
	if len(out) != 1 {
		t.Fatalf("want one message: %v", out)
	}
	return out[0].Body
}

func TestSingleNodeHandsOutOffsetsAndPolls(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n0", []string{"n0"})
	for i, m := range []int{10, 11, 12} {
		b := body(t, tn.Deliver("c1", map[string]any{"type": "send", "key": "k", "msg": m, "msg_id": i + 1}))
		if b["offset"] != float64(i) {
			t.Fatal(b)
		}
	}
	b := body(t, tn.Deliver("c1", map[string]any{"type": "poll", "offsets": map[string]int{"k": 1, "other": 0}, "msg_id": 9}))
	if got, _ := json.Marshal(b["msgs"]); string(got) != `{"k":[[1,11],[2,12]]}` {
		t.Fatalf("%s", got)
	}
	tn.Deliver("c1", map[string]any{"type": "commit_offsets", "offsets": map[string]int{"k": 1}, "msg_id": 10})
	b = body(t, tn.Deliver("c1", map[string]any{"type": "list_committed_offsets", "keys": []string{"k", "x"}, "msg_id": 11}))
	if got, _ := json.Marshal(b["offsets"]); string(got) != `{"k":1}` {
		t.Fatalf("%s", got)
	}
}

func TestOwnerIsFNV1a(t *testing.T) {
	// The Rust node's owner(): FNV-1a 64 of the key, modulo the node count.
	ids := []string{"n0", "n1"}
	// fnv1a64("") = 0xcbf29ce484222325, odd; fnv1a64("a") = 0xaf63dc4c8601ec8c, even.
	if owner("", ids) != "n1" || owner("a", ids) != "n0" {
		t.Fatal(owner("", ids), owner("a", ids))
	}
}

func TestForwardsToTheOwner(t *testing.T) {
	ids := []string{"n0", "n1"}
	tn := maelstrom.NewTestNode(newNode, "n0", ids)
	// "" is n1's: the send goes there, and its offset comes back.
	f := body(t, tn.Deliver("c1", map[string]any{"type": "send", "key": "", "msg": 5, "msg_id": 1}))
	if f["type"] != "send" || f["key"] != "" || f["msg"] != float64(5) {
		t.Fatal(f)
	}
	b := body(t, tn.Deliver("n1", map[string]any{"type": "send_ok", "offset": 3, "in_reply_to": f["msg_id"]}))
	if b["type"] != "send_ok" || b["offset"] != float64(3) {
		t.Fatal(b)
	}
	// A poll over both owners' keys: n0's part here, n1's forwarded, merged.
	tn.Deliver("c1", map[string]any{"type": "send", "key": "a", "msg": 1, "msg_id": 2})
	p := body(t, tn.Deliver("c1", map[string]any{"type": "poll", "offsets": map[string]int{"a": 0, "": 0}, "msg_id": 3}))
	if got, _ := json.Marshal(p["offsets"]); p["type"] != "poll" || string(got) != `{"":0}` {
		t.Fatal(p)
	}
	b = body(t, tn.Deliver("n1", map[string]any{"type": "poll_ok", "msgs": map[string]any{"": [][]int{{0, 9}}}, "in_reply_to": p["msg_id"]}))
	if got, _ := json.Marshal(b["msgs"]); string(got) != `{"":[[0,9]],"a":[[0,1]]}` {
		t.Fatalf("%s", got)
	}
}

const rustSnapshot = `{"glomers_snapshot":1,"node_id":"n0","node_ids":["n0"],"next_msg_id":3,"next_timer_id":3,
"state":{"logs":{"k1":[10,11,12],"k7":["any",{"json":1}]},"committed":{"k1":1}}}`

func TestRestoresARustSnapshot(t *testing.T) {
	tn, err := maelstrom.RestoreTestNode(newNode, []byte(rustSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, tn.Deliver("c1", map[string]any{"type": "send", "key": "k7", "msg": 3, "msg_id": 1}))
	if b["offset"] != float64(2) {
		t.Fatal(b)
	}
	b = body(t, tn.Deliver("c1", map[string]any{"type": "poll", "offsets": map[string]int{"k7": 0}, "msg_id": 2}))
	if got, _ := json.Marshal(b["msgs"]); string(got) != `{"k7":[[0,"any"],[1,{"json":1}],[2,3]]}` {
		t.Fatalf("%s", got)
	}
	var env map[string]json.RawMessage
	json.Unmarshal(tn.Snapshot(), &env)
	if string(env["state"]) != `{"logs":{"k1":[10,11,12],"k7":["any",{"json":1},3]},"committed":{"k1":1}}` {
		t.Fatalf("%s", env["state"])
	}
}

func TestLinKVStateIsNull(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n0", []string{"n0", "n1"}, "--lin-kv")
	var env map[string]json.RawMessage
	json.Unmarshal(tn.Snapshot(), &env)
	if string(env["state"]) != "null" {
		t.Fatalf("%s", env["state"])
	}
	rust := `{"glomers_snapshot":1,"node_id":"n1","node_ids":["n0","n1"],"next_msg_id":7,"next_timer_id":7,"state":null}`
	r, err := maelstrom.RestoreTestNode(newNode, []byte(rust), "--lin-kv")
	if err != nil {
		t.Fatal(err)
	}
	// A send reads the log, then appends by compare-and-set from what it read.
	read := body(t, r.Deliver("c1", map[string]any{"type": "send", "key": "k", "msg": 4, "msg_id": 1}))
	if read["type"] != "read" || read["key"] != "log-k" || read["msg_id"].(float64) <= 7 {
		t.Fatal(read)
	}
	cas := body(t, r.Deliver("lin-kv", map[string]any{"type": "read_ok", "value": []int{1, 2}, "in_reply_to": read["msg_id"]}))
	from, _ := json.Marshal(cas["from"])
	to, _ := json.Marshal(cas["to"])
	if cas["type"] != "cas" || string(from) != "[1,2]" || string(to) != "[1,2,4]" {
		t.Fatal(cas)
	}
	b := body(t, r.Deliver("lin-kv", map[string]any{"type": "cas_ok", "in_reply_to": cas["msg_id"]}))
	if b["offset"] != float64(2) {
		t.Fatal(b)
	}
}

func TestCountAndAppend(t *testing.T) {
	cases := map[string]int{`[]`: 0, ` [ ] `: 0, `[1]`: 1, `[1,[2,3],{"a":",]"},"x\"]",4]`: 5}
	for text, want := range cases {
		if got, ok := countElems(json.RawMessage(text)); !ok || got != want {
			t.Errorf("%s: %d %v", text, got, ok)
		}
	}
	if _, ok := countElems(json.RawMessage(`{}`)); ok {
		t.Error("an object")
	}
	if got := string(appendElem(json.RawMessage(`[]`), 0, json.RawMessage(`7`))); got != `[7]` {
		t.Error(got)
	}
	if got := string(appendElem(json.RawMessage(`[1,2]`), 2, json.RawMessage(`{"a":1}`))); got != `[1,2,{"a":1}]` {
		t.Error(got)
	}
}
