// Challenge 5: a Kafka-style log. A port of challenges/kafka, with its two designs
// picked by a guest argument:
//   - owners (the default; 5a, 5c): every key has one owner node, which alone holds
//     the key's log and committed offset in memory; other nodes forward to it;
//   - --lin-kv (5b): nothing is kept in the node; logs and committed offsets live in
//     lin-kv, changed by compare-and-set.
//
// Same forwarded messages, lin-kv keys and handoff state as the Rust node.
package main

import (
	"encoding/json"
	"log"
	"time"

	"glomers.dev/maelstrom"
)

const rpcTimeout = 1000 * time.Millisecond

type sendReq struct {
	Key string          `json:"key"`
	Msg json.RawMessage `json:"msg"`
}

type offsetsReq struct {
	Offsets map[string]int64 `json:"offsets"`
}

type keysReq struct {
	Keys []string `json:"keys"`
}

// entries is log[from:] as [offset, msg] pairs.
func entries(log []json.RawMessage, from int64) [][2]any {
	out := [][2]any{}
	for o := max(from, 0); o < int64(len(log)); o++ {
		out = append(out, [2]any{o, log[o]})
	}
	return out
}

func newNode() *maelstrom.Node {
	args := maelstrom.NewArgs()
	linKV := args.Flag("--lin-kv")
	args.Finish()
	if linKV {
		return linKVNode()
	}
	return ownersNode()
}

func main() {
	if err := newNode().Run(); err != nil {
		log.Fatal(err)
	}
}
