// Challenge 2: unique ids. Every id is `<node>-<boot>-<n>` (as the Rust node makes
// them): the node's id, a random number drawn when this instance started (so a
// restarted node never reuses an id), and a counter. No node talks to another.
package main

import (
	"fmt"
	"log"

	"glomers.dev/maelstrom"
)

func newNode() *maelstrom.Node {
	n := maelstrom.NewNode()
	boot, next := maelstrom.RandomU64(), uint64(0)
	n.Handle("generate", func(msg maelstrom.Message) error {
		next++
		return n.Reply(msg, map[string]any{"type": "generate_ok",
			"id": fmt.Sprintf("%s-%x-%d", n.ID(), boot, next)})
	})
	return n
}

func main() {
	if err := newNode().Run(); err != nil {
		log.Fatal(err)
	}
}
