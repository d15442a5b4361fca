package main

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	"glomers.dev/maelstrom"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "n" + string(rune('0'+i))
	}
	return out
}

func defaultNode() *maelstrom.Node { return newNodeWith(defaultConfig()) }

func TestSingleNodeReadsWhatWasBroadcast(t *testing.T) {
	tn := maelstrom.NewTestNode(defaultNode, "n0", []string{"n0"})
	out := tn.Deliver("c1", map[string]any{"type": "topology", "topology": map[string]any{"n0": []string{}}, "msg_id": 1})
	if out[0].Body["type"] != "topology_ok" {
		t.Fatal(out)
	}
	for i, v := range []int{3, 1, 3, 2} {
		out := tn.Deliver("c1", map[string]any{"type": "broadcast", "message": v, "msg_id": 10 + i})
		if len(out) != 1 || out[0].Body["type"] != "broadcast_ok" {
			t.Fatalf("a lone node talks to nobody but the client: %v", out)
		}
	}
	out = tn.Deliver("c1", map[string]any{"type": "read", "msg_id": 20})
	if got, _ := json.Marshal(out[0].Body["messages"]); string(got) != "[3,1,2]" {
		t.Fatalf("%s", got)
	}
	if out := tn.Advance(60_000); len(out) != 0 {
		t.Fatal(out)
	}
}

func TestConfigFromArgs(t *testing.T) {
	c := configFromArgs(maelstrom.ArgsFrom([]string{"--batch-ms", "300", "--up-ms=700", "--hubs", "0"}))
	if c.DownMs != 300 || c.UpMs != 700 || c.Hubs != 1 || c.TickMs != 100 {
		t.Fatalf("%+v", c)
	}
	c = configFromArgs(maelstrom.ArgsFrom([]string{"--batch-ms", "300", "--down-ms", "150"}))
	if c.DownMs != 150 {
		t.Fatalf("--down-ms wins over --batch-ms: %+v", c)
	}
}

// A leaf sends a value up to the hub at once; the hub sends it down to the others
// in its next batch; acknowledgements ride on traffic.
func TestGossipOverTheStar(t *testing.T) {
	leaf := maelstrom.NewTestNode(defaultNode, "n2", ids(4))
	out := leaf.Deliver("c1", map[string]any{"type": "broadcast", "message": 7, "msg_id": 1})
	if len(out) != 2 || out[0].Dest != "n0" || out[0].Raw != `{"type":"gossip","seq":0,"up":[7]}` {
		t.Fatalf("%v", out)
	}
	hub := maelstrom.NewTestNode(defaultNode, "n0", ids(4))
	if out := hub.Deliver("n2", out[0].Raw); len(out) != 0 {
		t.Fatal(out)
	}
	down := hub.Advance(100)
	var dests []string
	for _, s := range down {
		dests = append(dests, s.Dest)
		if s.Raw != `{"type":"gossip","seq":0,"down":[7]}` && s.Raw != `{"type":"gossip","seq":0,"down":[7],"acks":[0]}` {
			t.Fatalf("%v", s.Raw)
		}
	}
	sort.Strings(dests)
	if !reflect.DeepEqual(dests, []string{"n1", "n3"}) && !reflect.DeepEqual(dests, []string{"n1", "n2", "n3"}) {
		t.Fatalf("%v", dests)
	}
}

// A snapshot as the Rust node writes it (docs/handoff.md, challenges/broadcast):
// the Go node takes it over, and writes the same shape back.
const rustSnapshot = `{"glomers_snapshot":1,"node_id":"n2","node_ids":["n0","n1","n2","n3"],"next_msg_id":0,"next_timer_id":5,
"state":{"cfg":{"down_ms":100,"up_ms":0,"lead_ms":0,"tick_ms":100,"rto_ms":2000,"ack_ms":1000,"hubs":3},
"core":{"cfg":{"down_ms":100,"up_ms":0,"lead_ms":0,"tick_ms":100,"rto_ms":2000,"ack_ms":1000,"hubs":3},
"me":"n2","hubs":["n0","n1","n2"],"now":300,"seen":[7,5],"values":[7,5],
"links":{"n0":{"up":[],"down":[],"next_seq":1,"inflight":{"0":{"sent_at":100,"up":[7],"down":[]}},"owed":[],"owed_since":null,"failures":0},
"n1":{"up":[],"down":[],"next_seq":0,"inflight":{},"owed":[4],"owed_since":250,"failures":0},
"n3":{"up":[],"down":[],"next_seq":0,"inflight":{},"owed":[],"owed_since":null,"failures":0}},"synced":false}}}`

func TestRestoresARustSnapshot(t *testing.T) {
	tn, err := maelstrom.RestoreTestNode(defaultNode, []byte(rustSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	snap := tn.Snapshot()
	out := tn.Deliver("c1", map[string]any{"type": "read", "msg_id": 2})
	if got, _ := json.Marshal(out[0].Body["messages"]); string(got) != "[7,5]" {
		t.Fatalf("%s", got)
	}
	// The ack owed to n1 goes alone after ack_ms; the batch in flight to n0 times
	// out after rto_ms, and its value goes up to the next hub, n1.
	var got []string
	for _, s := range tn.Advance(2000) {
		got = append(got, s.Dest+" "+s.Raw)
	}
	want := []string{`n1 {"type":"gossip","acks":[4]}`, `n1 {"type":"gossip","seq":0,"up":[7]}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	// Same shape as the Rust state: the same keys at every level.
	var ours, theirs map[string]any
	json.Unmarshal(snap, &ours)
	json.Unmarshal([]byte(rustSnapshot), &theirs)
	if a, b := shape(ours), shape(theirs); a != b {
		t.Fatalf("shapes differ:\n go:   %s\n rust: %s", a, b)
	}
	// A restored node keeps the snapshot's timer ids out of its own.
	if env := ours; env["next_timer_id"].(float64) <= 5 {
		t.Fatalf("timer ids not continued: %v", env["next_timer_id"])
	}
}

// shape is the JSON's keys and kinds, without the values.
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := "{"
		for _, k := range keys {
			kk := k
			if _, err := json.Number(k).Int64(); err == nil {
				kk = "#"
			}
			s += kk + ":" + shape(x[k]) + ","
		}
		return s + "}"
	case []any:
		return "[]"
	case nil:
		return "null"
	}
	return "v"
}
