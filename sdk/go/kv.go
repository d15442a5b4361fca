package maelstrom

import (
	"context"
	"encoding/json"
	"time"
)

// The Maelstrom key-value services.
const (
	LinKV = "lin-kv"
	SeqKV = "seq-kv"
	LWWKV = "lww-kv"
)

// KV is a client of one of Maelstrom's key-value services. Its calls block (as
// SyncRPC does), so use them from a handler, callback, timer or Go goroutine.
type KV struct {
	typ     string
	node    *Node
	Timeout time.Duration // per call, when the context has no deadline
}

// NewKV returns a client for the service typ (LinKV, SeqKV, LWWKV).
func NewKV(typ string, n *Node) *KV { return &KV{typ: typ, node: n, Timeout: DefaultRPCTimeout} }

// NewLinKV returns a client of the linearizable store.
func NewLinKV(n *Node) *KV { return NewKV(LinKV, n) }

// NewSeqKV returns a client of the sequentially consistent store.
func NewSeqKV(n *Node) *KV { return NewKV(SeqKV, n) }

// NewLWWKV returns a client of the last-write-wins store.
func NewLWWKV(n *Node) *KV { return NewKV(LWWKV, n) }

func (kv *KV) call(ctx context.Context, body map[string]any) (Message, error) {
	timeout := kv.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return kv.node.syncRPC(kv.typ, body, timeout)
}

// Read returns the value of key (decoded into any); a missing key is an
// *RPCError with code KeyDoesNotExist.
func (kv *KV) Read(ctx context.Context, key string) (any, error) {
	var v any
	err := kv.ReadInto(ctx, key, &v)
	return v, err
}

// ReadInt reads an integer value.
func (kv *KV) ReadInt(ctx context.Context, key string) (int, error) {
	var v int
	err := kv.ReadInto(ctx, key, &v)
	return v, err
}

// ReadInto reads key's value into v.
func (kv *KV) ReadInto(ctx context.Context, key string, v any) error {
	msg, err := kv.call(ctx, map[string]any{"type": "read", "key": key})
	if err != nil {
		return err
	}
	var b struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(msg.Body, &b); err != nil {
		return err
	}
	if len(b.Value) == 0 {
		b.Value = json.RawMessage("null")
	}
	return json.Unmarshal(b.Value, v)
}

// Write sets key to value.
func (kv *KV) Write(ctx context.Context, key string, value any) error {
	_, err := kv.call(ctx, map[string]any{"type": "write", "key": key, "value": value})
	return err
}

// CompareAndSwap sets key to to if it holds from (or, with createIfNotExists, if it
// does not exist): else an *RPCError with PreconditionFailed or KeyDoesNotExist.
func (kv *KV) CompareAndSwap(ctx context.Context, key string, from, to any, createIfNotExists bool) error {
	_, err := kv.call(ctx, map[string]any{"type": "cas", "key": key, "from": from, "to": to,
		"create_if_not_exists": createIfNotExists})
	return err
}

// IsRetryable says whether a KV error is worth retrying (a lost race, a missing
// key, a timeout, a busy service), as the Rust SDK's kv::is_retryable.
func IsRetryable(err error) bool {
	switch ErrorCode(err) {
	case PreconditionFailed, KeyDoesNotExist, Timeout, TemporarilyUnavailable:
		return true
	}
	return false
}
