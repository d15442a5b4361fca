package maelstrom

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Maelstrom's standard error codes (the glomers-protocol crate is their home on the
// Rust side). Definite: 1, 10, 11, 12, 14, 20, 21, 22, 30. Indefinite: 0 (timeout),
// 13 (crash) and every code Maelstrom does not define.
const (
	Timeout                = 0
	NodeNotFound           = 1
	NotSupported           = 10
	TemporarilyUnavailable = 11
	MalformedRequest       = 12
	Crash                  = 13
	Abort                  = 14
	KeyDoesNotExist        = 20
	KeyAlreadyExists       = 21
	PreconditionFailed     = 22
	TxnConflict            = 30
)

// IsDefinite says whether an error with this code means the operation certainly
// did not take place.
func IsDefinite(code int) bool {
	switch code {
	case NodeNotFound, NotSupported, TemporarilyUnavailable, MalformedRequest, Abort,
		KeyDoesNotExist, KeyAlreadyExists, PreconditionFailed, TxnConflict:
		return true
	}
	return false
}

// ErrorCodeText is Maelstrom's name for a code ("unknown" for codes it does not define).
func ErrorCodeText(code int) string {
	switch code {
	case Timeout:
		return "timeout"
	case NodeNotFound:
		return "node-not-found"
	case NotSupported:
		return "not-supported"
	case TemporarilyUnavailable:
		return "temporarily-unavailable"
	case MalformedRequest:
		return "malformed-request"
	case Crash:
		return "crash"
	case Abort:
		return "abort"
	case KeyDoesNotExist:
		return "key-does-not-exist"
	case KeyAlreadyExists:
		return "key-already-exists"
	case PreconditionFailed:
		return "precondition-failed"
	case TxnConflict:
		return "txn-conflict"
	}
	return "unknown"
}

// RPCError is a Maelstrom error: a handler that returns one makes the SDK reply
// {"type":"error","code":Code,"text":Text}; an RPC whose reply is an error returns one.
type RPCError struct {
	Code int
	Text string
}

// NewRPCError returns an error with a Maelstrom code.
func NewRPCError(code int, text string) *RPCError { return &RPCError{Code: code, Text: text} }

func (e *RPCError) Error() string {
	return fmt.Sprintf("RPCError(%s, %q)", ErrorCodeText(e.Code), e.Text)
}

// MarshalJSON writes the error as a message body.
func (e *RPCError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type string `json:"type"`
		Code int    `json:"code"`
		Text string `json:"text"`
	}{"error", e.Code, e.Text})
}

// ErrorCode returns the Maelstrom code of err, or -1 if it carries none.
func ErrorCode(err error) int {
	var e *RPCError
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

// asRPCError turns what a handler returned into the error reply it gets: a Maelstrom
// error as is, a JSON decoding error as malformed-request (12), anything else as
// crash (13), reported on stderr.
func asRPCError(err error, what string) *RPCError {
	var e *RPCError
	if errors.As(err, &e) {
		return e
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syn) || errors.As(err, &typ) {
		return NewRPCError(MalformedRequest, err.Error())
	}
	logf("%s failed: %v", what, err)
	return NewRPCError(Crash, err.Error())
}
