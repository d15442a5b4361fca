package main

import (
	"encoding/json"
	"testing"

	"glomers.dev/maelstrom"
)

func kvRequest(t *testing.T, out []maelstrom.Sent, typ string) map[string]any {
	t.Helper()
	if len(out) != 1 || out[0].Dest != "seq-kv" || out[0].Body["type"] != typ {
		t.Fatalf("want one %s to seq-kv, got %v", typ, out)
	}
	return out[0].Body
}

func answer(tn *maelstrom.TestNode, req map[string]any, body map[string]any) []maelstrom.Sent {
	body["in_reply_to"] = req["msg_id"]
	return tn.Deliver("seq-kv", body)
}

func TestAddsAreBatchedIntoOneCAS(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n0", []string{"n0", "n1", "n2"})
	read := kvRequest(t, tn.Deliver("c1", map[string]any{"type": "add", "delta": 2, "msg_id": 1}), "read")
	if read["key"] != "count-n0" {
		t.Fatal(read)
	}
	// Adds while the first round is in flight wait for the next.
	if out := tn.Deliver("c1", map[string]any{"type": "add", "delta": 3, "msg_id": 2}); len(out) != 0 {
		t.Fatal(out)
	}
	cas := kvRequest(t, answer(tn, read, map[string]any{"type": "error", "code": 20}), "cas")
	from, _ := json.Marshal(cas["from"])
	to := cas["to"].([]any)
	if string(from) != `[0,""]` || to[0] != float64(2) || cas["create_if_not_exists"] != true {
		t.Fatalf("%v", cas)
	}
	out := answer(tn, cas, map[string]any{"type": "cas_ok"})
	if len(out) != 2 || out[0].Dest != "c1" || out[0].Body["in_reply_to"] != float64(1) {
		t.Fatalf("%v", out)
	}
	cas2 := out[1].Body
	if cas2["type"] != "cas" || cas2["to"].([]any)[0] != float64(5) {
		t.Fatalf("%v", cas2)
	}
	out = answer(tn, cas2, map[string]any{"type": "cas_ok"})
	if len(out) != 1 || out[0].Body["type"] != "add_ok" || out[0].Body["in_reply_to"] != float64(2) {
		t.Fatalf("%v", out)
	}
	// Negative deltas are malformed.
	out = tn.Deliver("c1", map[string]any{"type": "add", "delta": -1, "msg_id": 3})
	if out[0].Body["code"] != float64(12) {
		t.Fatalf("%v", out)
	}
}

func TestReadWritesABarrierThenSums(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n0", []string{"n0", "n1"})
	w := kvRequest(t, tn.Deliver("c1", map[string]any{"type": "read", "msg_id": 1}), "write")
	if w["key"] != "barrier-n0" {
		t.Fatal(w)
	}
	r0 := kvRequest(t, answer(tn, w, map[string]any{"type": "write_ok"}), "read")
	r1 := kvRequest(t, answer(tn, r0, map[string]any{"type": "read_ok", "value": []any{4, "n0-1-1"}}), "read")
	out := answer(tn, r1, map[string]any{"type": "read_ok", "value": []any{6, "n1-2-1"}})
	if len(out) != 1 || out[0].Body["value"] != float64(10) {
		t.Fatalf("%v", out)
	}
}

// A snapshot as the Rust node writes it (docs/handoff.md): pending adds and reads
// are served again, the node's key read back first.
const rustSnapshot = `{"glomers_snapshot":1,"node_id":"n0","node_ids":["n0","n1","n2"],"next_msg_id":42,"next_timer_id":17,
"state":{"boot":18446744073709551615,"next_tag":5,"mine":[7,"n0-ffffffffffffffff-5"],"unflushed":2,
"adds":[{"src":"c4","msg_id":12,"body":{"delta":2}}],"flushing":true,"seen":{"n0":7,"n1":3},
"reads":[{"src":"c2","msg_id":9,"body":{"type":"read","msg_id":9}}],"refreshing":true}}`

func TestRestoresARustSnapshot(t *testing.T) {
	tn, err := maelstrom.RestoreTestNode(newNode, []byte(rustSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]json.RawMessage
	json.Unmarshal(tn.Snapshot(), &env)
	var st map[string]json.RawMessage
	json.Unmarshal(env["state"], &st)
	if string(st["boot"]) != "18446744073709551615" || string(st["mine"]) != "null" {
		t.Fatalf("%s", env["state"])
	}
	for _, k := range []string{"boot", "next_tag", "mine", "unflushed", "adds", "flushing", "seen", "reads", "refreshing"} {
		if _, ok := st[k]; !ok {
			t.Fatalf("no %s in %s", k, env["state"])
		}
	}
	if len(st) != 9 {
		t.Fatalf("extra fields: %s", env["state"])
	}
	// The flush and the refresh start again (the flush reads the key back first),
	// with msg ids after the old version's.
	out := tn.Deliver("c9", map[string]any{"type": "nothing", "msg_id": 1})
	var read, write map[string]any
	for _, s := range out {
		switch s.Body["type"] {
		case "read":
			read = s.Body
		case "write":
			write = s.Body
		}
	}
	if read == nil || read["key"] != "count-n0" || write == nil || write["key"] != "barrier-n0" {
		t.Fatalf("%v", out)
	}
	if read["msg_id"].(float64) <= 42 || write["msg_id"].(float64) <= 42 {
		t.Fatalf("msg ids not continued: %v", out)
	}
	// The key read back: the pending add's batch goes in, then add_ok to c4.
	cas := kvRequest(t, answer(tn, read, map[string]any{"type": "read_ok", "value": []any{7, "n0-ffffffffffffffff-5"}}), "cas")
	if to := cas["to"].([]any); to[0] != float64(9) || to[1] != "n0-ffffffffffffffff-6" {
		t.Fatalf("%v", cas)
	}
	out = answer(tn, cas, map[string]any{"type": "cas_ok"})
	if len(out) != 1 || out[0].Dest != "c4" || out[0].Body["in_reply_to"] != float64(12) {
		t.Fatalf("%v", out)
	}
}
