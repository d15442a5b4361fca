// Challenge 4: a grow-only counter kept in Maelstrom's seq-kv. A port of
// challenges/g-counter (same keys, values and handoff state; see its doc comment
// for the design): each node owns the key `count-<node>` holding [count, tag] and
// is its only writer; adds are batched into one compare-and-set at a time; a read
// first writes a fresh value to `barrier-<node>` so the reads that follow see every
// add acknowledged before it, then sums every node's key.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strconv"
	"time"

	"glomers.dev/maelstrom"
)

// backoff is the wait before retrying after seq-kv failed in a way that is not a
// plain conflict.
const backoff = 50 * time.Millisecond

// maxCount: Maelstrom's clients take the counter as a signed 64-bit number.
const maxCount = uint64(1<<63 - 1)

// Entry is what a node's key holds, [count, tag] (a Rust tuple).
type Entry struct {
	Count uint64
	Tag   string
}

func (e Entry) MarshalJSON() ([]byte, error) { return json.Marshal([]any{e.Count, e.Tag}) }

func (e *Entry) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("an entry is [count, tag], not %s", b)
	}
	if err := json.Unmarshal(pair[0], &e.Count); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &e.Tag)
}

// Counter is the handoff state, the Rust Counter field for field.
type Counter struct {
	Boot       uint64              `json:"boot"`
	NextTag    uint64              `json:"next_tag"`
	Mine       *Entry              `json:"mine"`
	Unflushed  uint64              `json:"unflushed"`
	Adds       []maelstrom.Request `json:"adds"`
	Flushing   bool                `json:"flushing"`
	Seen       map[string]uint64   `json:"seen"`
	Reads      []maelstrom.Request `json:"reads"`
	Refreshing bool                `json:"refreshing"`
}

func (s *Counter) tag(me string) string {
	s.NextTag++
	return fmt.Sprintf("%s-%x-%d", me, s.Boot, s.NextTag)
}

func (s *Counter) total(me string) uint64 {
	own := uint64(0)
	if s.Mine != nil {
		own = s.Mine.Count
	}
	own = max(own, s.Seen[me])
	sum := own
	for node, n := range s.Seen {
		if node == me {
			continue
		}
		if sum+n < sum {
			sum = ^uint64(0)
		} else {
			sum += n
		}
	}
	return min(sum, maxCount)
}

func countKey(node string) string   { return "count-" + node }
func barrierKey(node string) string { return "barrier-" + node }

func newNode() *maelstrom.Node {
	n := maelstrom.NewNode()
	kv := maelstrom.NewSeqKV(n)
	s := &Counter{Boot: maelstrom.RandomU64(), Adds: []maelstrom.Request{},
		Seen: map[string]uint64{}, Reads: []maelstrom.Request{}}
	n.Handoff(s)

	var flush, refresh func()
	flush = func() {
		me := n.ID()
		key := countKey(me)
		ctx := context.Background()
		for {
			if len(s.Adds) == 0 {
				s.Flushing = false
				return
			}
			tag := s.tag(me)
			delta, adds := s.Unflushed, s.Adds
			s.Unflushed, s.Adds = 0, []maelstrom.Request{}
			for {
				var from Entry
				if s.Mine != nil {
					from = *s.Mine
				} else {
					err := kv.ReadInto(ctx, key, &from)
					if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
						from, err = Entry{0, ""}, nil
					}
					if err != nil {
						n.Sleep(backoff)
						continue
					}
				}
				if from.Tag == tag {
					// An earlier attempt that timed out did happen.
					s.Mine = &from
					break
				}
				sum := from.Count + delta
				if sum < from.Count {
					sum = ^uint64(0)
				}
				to := Entry{sum, tag}
				err := kv.CompareAndSwap(ctx, key, from, to, true)
				if err == nil {
					s.Mine = &to
					break
				}
				// Whatever happened, the key is no longer known: read it back.
				s.Mine = nil
				if maelstrom.ErrorCode(err) != maelstrom.PreconditionFailed {
					n.Sleep(backoff)
				}
			}
			for _, req := range adds {
				_ = n.ReplyTo(req, map[string]any{"type": "add_ok"})
			}
		}
	}
	refresh = func() {
		me := n.ID()
		ctx := context.Background()
		for {
			if len(s.Reads) == 0 {
				s.Refreshing = false
				return
			}
			reads := s.Reads
			s.Reads = []maelstrom.Request{}
			for kv.Write(ctx, barrierKey(me), s.tag(me)) != nil {
				n.Sleep(backoff)
			}
			for _, node := range n.NodeIDs() {
				// This node's own count is known here unless it restarted.
				if node == me && s.Mine != nil {
					continue
				}
				var e Entry
				for {
					err := kv.ReadInto(ctx, countKey(node), &e)
					if maelstrom.ErrorCode(err) == maelstrom.KeyDoesNotExist {
						e, err = Entry{0, ""}, nil
					}
					if err == nil {
						break
					}
					n.Sleep(backoff)
				}
				s.Seen[node] = max(s.Seen[node], e.Count)
			}
			total := s.total(me)
			for _, req := range reads {
				_ = n.ReplyTo(req, map[string]any{"type": "read_ok", "value": total})
			}
		}
	}

	// After a live swap the old version's goroutines are gone: read this node's key
	// back before the next compare-and-set, and serve waiting adds and reads again.
	n.OnRestore(func() {
		if s.Seen == nil {
			s.Seen = map[string]uint64{}
		}
		s.Mine = nil
		s.Flushing = len(s.Adds) > 0
		if s.Flushing {
			n.Go(flush)
		}
		s.Refreshing = len(s.Reads) > 0
		if s.Refreshing {
			n.Go(refresh)
		}
	})

	n.Handle("add", func(msg maelstrom.Message) error {
		var b struct {
			// Unsigned: a grow-only counter takes no negative delta (error 12).
			Delta uint64 `json:"delta"`
		}
		if err := json.Unmarshal(msg.Body, &b); err != nil {
			return err
		}
		if b.Delta == 0 {
			return n.Reply(msg, map[string]any{"type": "add_ok"})
		}
		committed := uint64(0)
		if s.Mine != nil {
			committed = s.Mine.Count
		}
		u := s.Unflushed + b.Delta
		if u < s.Unflushed || u+committed < u || u+committed > maxCount {
			return maelstrom.NewRPCError(maelstrom.MalformedRequest, "the counter would pass 2^63 - 1")
		}
		s.Unflushed = u
		req := msg.Request()
		req.Body = json.RawMessage(`{"delta":` + strconv.FormatUint(b.Delta, 10) + `}`)
		s.Adds = append(s.Adds, req)
		if !s.Flushing {
			s.Flushing = true
			n.Go(flush)
		}
		return nil
	})
	n.Handle("read", func(msg maelstrom.Message) error {
		s.Reads = append(s.Reads, msg.Request())
		if !s.Refreshing {
			s.Refreshing = true
			n.Go(refresh)
		}
		return nil
	})
	return n
}

func main() {
	if err := newNode().Run(); err != nil {
		log.Fatal(err)
	}
}
