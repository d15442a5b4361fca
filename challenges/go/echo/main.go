// Challenge 1: echo. Replies to every `echo` with the same payload.
package main

import (
	"encoding/json"
	"log"

	"glomers.dev/maelstrom"
)

func newNode() *maelstrom.Node {
	n := maelstrom.NewNode()
	n.Handle("echo", func(msg maelstrom.Message) error {
		var body map[string]any
		if err := json.Unmarshal(msg.Body, &body); err != nil {
			return err
		}
		body["type"] = "echo_ok"
		delete(body, "msg_id")
		return n.Reply(msg, body)
	})
	return n
}

func main() {
	if err := newNode().Run(); err != nil {
		log.Fatal(err)
	}
}
