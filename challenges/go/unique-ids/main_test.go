package main

import (
	"testing"

	"glomers.dev/maelstrom"
)

func TestIDsAreUniqueAcrossNodesAndRestarts(t *testing.T) {
	seen := map[string]bool{}
	for _, node := range []string{"n1", "n2", "n1"} {
		tn := maelstrom.NewTestNode(newNode, node, []string{"n1", "n2"})
		for i := 0; i < 1000; i++ {
			out := tn.Deliver("c1", map[string]any{"type": "generate", "msg_id": i})
			if len(out) != 1 || out[0].Body["type"] != "generate_ok" {
				t.Fatalf("%v", out)
			}
			id := out[0].Body["id"].(string)
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
		if out := tn.Advance(10_000); len(out) != 0 {
			t.Fatalf("chatter: %v", out)
		}
	}
}
