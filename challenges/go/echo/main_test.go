package main

import (
	"testing"

	"glomers.dev/maelstrom"
)

func TestEchoesThePayload(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n1", []string{"n1"})
	out := tn.Deliver("c1", map[string]any{"type": "echo", "echo": "hi", "msg_id": 4})
	if len(out) != 1 || out[0].Dest != "c1" || out[0].Raw != `{"in_reply_to":4,"echo":"hi","type":"echo_ok"}` {
		t.Fatalf("%v", out)
	}
}

func TestUnknownTypesGetNotSupported(t *testing.T) {
	tn := maelstrom.NewTestNode(newNode, "n1", []string{"n1"})
	out := tn.Deliver("c1", map[string]any{"type": "frobnicate", "msg_id": 5})
	if out[0].Body["code"] != float64(10) || out[0].Body["in_reply_to"] != float64(5) {
		t.Fatalf("%v", out)
	}
}
