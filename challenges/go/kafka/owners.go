package main

// 5a and 5c: every key has one owner, node_ids[fnv1a64(key) % n], which alone holds
// the key's log and committed offset in memory and hands out offsets by appending.
// A node asked about keys it does not own forwards that part of the request to
// each owner (all in flight at once) and merges the answers.

import (
	"encoding/json"
	"fmt"
	"sort"

	"glomers.dev/maelstrom"
)

// Owned is the handoff state, the Rust Owned: {"logs":{key:[msg..]},"committed":{key:n}}.
type Owned struct {
	Logs      map[string][]json.RawMessage `json:"logs"`
	Committed map[string]int64             `json:"committed"`
}

func owner(key string, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 0x100000001b3
	}
	return ids[h%uint64(len(ids))]
}

// split sorts keys into this node's and each other owner's (owners in order).
func split(n *maelstrom.Node, keys []string) (mine []string, owners []string, theirs map[string][]string) {
	me, ids := n.ID(), n.NodeIDs()
	theirs = map[string][]string{}
	for _, k := range keys {
		if o := owner(k, ids); o != "" && o != me {
			if _, ok := theirs[o]; !ok {
				owners = append(owners, o)
			}
			theirs[o] = append(theirs[o], k)
		} else {
			mine = append(mine, k)
		}
	}
	sort.Strings(owners)
	return
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// gather sends each body to its owner, all at once, and merges the replies' field.
func gather(n *maelstrom.Node, owners []string, bodies map[string]any, field string, merged map[string]json.RawMessage) error {
	calls := make([]*maelstrom.Call, len(owners))
	for i, o := range owners {
		calls[i] = n.Call(o, bodies[o], rpcTimeout)
	}
	for _, c := range calls {
		r, err := c.Wait()
		if err != nil {
			return err
		}
		var b map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &b); err != nil {
			return err
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b[field], &m) == nil {
			for k, v := range m {
				merged[k] = v
			}
		}
	}
	return nil
}

func ownersNode() *maelstrom.Node {
	n := maelstrom.NewNode()
	s := &Owned{Logs: map[string][]json.RawMessage{}, Committed: map[string]int64{}}
	n.Handoff(s)
	n.OnRestore(func() {
		if s.Logs == nil {
			s.Logs = map[string][]json.RawMessage{}
		}
		if s.Committed == nil {
			s.Committed = map[string]int64{}
		}
	})

	n.Handle("send", func(msg maelstrom.Message) error {
		var req sendReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		if o := owner(req.Key, n.NodeIDs()); o != "" && o != n.ID() {
			r, err := n.Call(o, map[string]any{"type": "send", "key": req.Key, "msg": req.Msg}, rpcTimeout).Wait()
			if err != nil {
				return err
			}
			var b struct {
				Offset *uint64 `json:"offset"`
			}
			if json.Unmarshal(r.Body, &b) != nil || b.Offset == nil {
				// The owner may have appended it: an indefinite error.
				return maelstrom.NewRPCError(maelstrom.Crash, fmt.Sprintf("%s answered a send without an offset", o))
			}
			return n.Reply(msg, map[string]any{"type": "send_ok", "offset": *b.Offset})
		}
		if req.Msg == nil {
			req.Msg = json.RawMessage("null")
		}
		s.Logs[req.Key] = append(s.Logs[req.Key], req.Msg)
		return n.Reply(msg, map[string]any{"type": "send_ok", "offset": len(s.Logs[req.Key]) - 1})
	})

	n.Handle("poll", func(msg maelstrom.Message) error {
		var req offsetsReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		mine, owners, theirs := split(n, sortedKeys(req.Offsets))
		msgs := map[string]json.RawMessage{}
		for _, k := range mine {
			if log, ok := s.Logs[k]; ok {
				if pairs := entries(log, req.Offsets[k]); len(pairs) > 0 {
					msgs[k], _ = json.Marshal(pairs)
				}
			}
		}
		bodies := map[string]any{}
		for _, o := range owners {
			part := map[string]int64{}
			for _, k := range theirs[o] {
				part[k] = req.Offsets[k]
			}
			bodies[o] = map[string]any{"type": "poll", "offsets": part}
		}
		if err := gather(n, owners, bodies, "msgs", msgs); err != nil {
			return err
		}
		return n.Reply(msg, map[string]any{"type": "poll_ok", "msgs": msgs})
	})

	n.Handle("commit_offsets", func(msg maelstrom.Message) error {
		var req offsetsReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		mine, owners, theirs := split(n, sortedKeys(req.Offsets))
		for _, k := range mine {
			o := req.Offsets[k]
			if c, ok := s.Committed[k]; !ok || c < o {
				s.Committed[k] = o
			}
		}
		bodies := map[string]any{}
		for _, o := range owners {
			part := map[string]int64{}
			for _, k := range theirs[o] {
				part[k] = req.Offsets[k]
			}
			bodies[o] = map[string]any{"type": "commit_offsets", "offsets": part}
		}
		if err := gather(n, owners, bodies, "offsets", map[string]json.RawMessage{}); err != nil {
			return err
		}
		return n.Reply(msg, map[string]any{"type": "commit_offsets_ok"})
	})

	n.Handle("list_committed_offsets", func(msg maelstrom.Message) error {
		var req keysReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		mine, owners, theirs := split(n, req.Keys)
		offsets := map[string]json.RawMessage{}
		for _, k := range mine {
			if c, ok := s.Committed[k]; ok {
				offsets[k], _ = json.Marshal(c)
			}
		}
		bodies := map[string]any{}
		for _, o := range owners {
			bodies[o] = map[string]any{"type": "list_committed_offsets", "keys": theirs[o]}
		}
		if err := gather(n, owners, bodies, "offsets", offsets); err != nil {
			return err
		}
		return n.Reply(msg, map[string]any{"type": "list_committed_offsets_ok", "offsets": offsets})
	})
	return n
}
