package main

// 5b, with --lin-kv: nothing is kept in the node. Each key's whole log is one lin-kv
// value `log-<key>` (a JSON array), appended to by compare-and-set (the offset is
// the index); committed offsets are lin-kv values `committed-<key>` raised by
// compare-and-set.

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"

	"glomers.dev/maelstrom"
)

func logKey(k string) string    { return "log-" + k }
func commitKey(k string) string { return "committed-" + k }

// sameJSON says whether two JSON texts hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func linKVNode() *maelstrom.Node {
	n := maelstrom.NewNode()
	kv := maelstrom.NewLinKV(n)
	kv.Timeout = rpcTimeout
	// Everything lives in lin-kv: nothing to carry (state null), but the ids and
	// counters are.
	n.Handoff(&nullState{})

	n.Handle("send", func(msg maelstrom.Message) error {
		var req sendReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		if req.Msg == nil {
			req.Msg = json.RawMessage("null")
		}
		ctx := context.Background()
		key := logKey(req.Key)
		// After a compare-and-set that timed out, the log may already hold the message.
		maybeFrom := -1
		for {
			// The log stays JSON text: counted and appended to without decoding its
			// messages (it grows to thousands).
			var log json.RawMessage
			err := kv.ReadInto(ctx, key, &log)
			if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
				log, err = json.RawMessage("[]"), nil
			}
			if err != nil {
				if maelstrom.IsRetryable(err) {
					continue
				}
				return err
			}
			count, ok := countElems(log)
			if !ok {
				return maelstrom.NewRPCError(maelstrom.Crash, "lin-kv holds something else than a log under "+key)
			}
			if maybeFrom >= 0 {
				var msgs []json.RawMessage
				_ = json.Unmarshal(log, &msgs)
				for i := maybeFrom; i < len(msgs); i++ {
					if sameJSON(msgs[i], req.Msg) {
						return n.Reply(msg, map[string]any{"type": "send_ok", "offset": i})
					}
				}
				maybeFrom = -1
			}
			err = kv.CompareAndSwap(ctx, key, log, appendElem(log, count, req.Msg), true)
			switch {
			case err == nil:
				return n.Reply(msg, map[string]any{"type": "send_ok", "offset": count})
			case maelstrom.ErrorCode(err) == maelstrom.Timeout:
				maybeFrom = count
			case maelstrom.IsRetryable(err):
			default:
				return err
			}
		}
	})

	n.Handle("poll", func(msg maelstrom.Message) error {
		var req offsetsReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		keys := sortedKeys(req.Offsets)
		calls := make([]*maelstrom.Call, len(keys))
		for i, k := range keys {
			calls[i] = n.Call(maelstrom.LinKV, map[string]any{"type": "read", "key": logKey(k)}, rpcTimeout)
		}
		msgs := map[string]any{}
		for i, c := range calls {
			r, err := c.Wait()
			if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
				continue
			}
			if err != nil {
				return err
			}
			var b struct {
				Value []json.RawMessage `json:"value"`
			}
			_ = json.Unmarshal(r.Body, &b)
			if pairs := entries(b.Value, req.Offsets[keys[i]]); len(pairs) > 0 {
				msgs[keys[i]] = pairs
			}
		}
		return n.Reply(msg, map[string]any{"type": "poll_ok", "msgs": msgs})
	})

	n.Handle("commit_offsets", func(msg maelstrom.Message) error {
		var req offsetsReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		ctx := context.Background()
		for _, k := range sortedKeys(req.Offsets) {
			o := req.Offsets[k]
			key := commitKey(k)
			for {
				var cur int64
				err := kv.ReadInto(ctx, key, &cur)
				exists := true
				if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
					exists, err = false, nil
				}
				if err != nil {
					if maelstrom.IsRetryable(err) {
						continue
					}
					return err
				}
				if exists && cur >= o {
					break
				}
				if exists {
					err = kv.CompareAndSwap(ctx, key, cur, o, false)
				} else {
					err = kv.CompareAndSwap(ctx, key, -1, o, true)
				}
				if err == nil {
					break
				}
				if !maelstrom.IsRetryable(err) {
					return err
				}
			}
		}
		return n.Reply(msg, map[string]any{"type": "commit_offsets_ok"})
	})

	n.Handle("list_committed_offsets", func(msg maelstrom.Message) error {
		var req keysReq
		if err := json.Unmarshal(msg.Body, &req); err != nil {
			return err
		}
		calls := make([]*maelstrom.Call, len(req.Keys))
		for i, k := range req.Keys {
			calls[i] = n.Call(maelstrom.LinKV, map[string]any{"type": "read", "key": commitKey(k)}, rpcTimeout)
		}
		offsets := map[string]int64{}
		for i, c := range calls {
			r, err := c.Wait()
			if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
				continue
			}
			if err != nil {
				return err
			}
			var b struct {
				Value *int64 `json:"value"`
			}
			if json.Unmarshal(r.Body, &b) == nil && b.Value != nil {
				offsets[req.Keys[i]] = *b.Value
			}
		}
		return n.Reply(msg, map[string]any{"type": "list_committed_offsets_ok", "offsets": offsets})
	})
	return n
}

// nullState writes `null` and reads anything: the Rust 5b node's state is ().
type nullState struct{}

func (nullState) MarshalJSON() ([]byte, error) { return []byte("null"), nil }
func (*nullState) UnmarshalJSON([]byte) error  { return nil }

// countElems counts the elements of a JSON array text; false if it is not one.
func countElems(text json.RawMessage) (int, bool) {
	t := bytes.TrimSpace(text)
	if len(t) < 2 || t[0] != '[' || t[len(t)-1] != ']' {
		return 0, false
	}
	if len(bytes.TrimSpace(t[1:len(t)-1])) == 0 {
		return 0, true
	}
	depth, inString, escaped, n := 0, false, false, 1
	for _, c := range t[1 : len(t)-1] {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			n++
		}
	}
	return n, true
}

// appendElem is the array text with one more element.
func appendElem(text json.RawMessage, count int, elem json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(text)
	out := make([]byte, 0, len(t)+len(elem)+1)
	out = append(out, t[:len(t)-1]...)
	if count > 0 {
		out = append(out, ',')
	}
	out = append(out, elem...)
	return append(out, ']')
}
