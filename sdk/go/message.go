package maelstrom

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Message is a Maelstrom message as a handler sees it: Body is the JSON body text.
type Message struct {
	Src  string          `json:"src,omitempty"`
	Dest string          `json:"dest,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`

	// The body's msg_id, when the SDK has read it already (known).
	id    uint64
	hasID bool
	known bool
}

// MessageBody holds the fields every body may carry.
type MessageBody struct {
	Type      string `json:"type,omitempty"`
	MsgID     int    `json:"msg_id,omitempty"`
	InReplyTo int    `json:"in_reply_to,omitempty"`
	Code      int    `json:"code,omitempty"`
	Text      string `json:"text,omitempty"`
}

// Type returns the body's "type" field.
func (m Message) Type() string {
	var b struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(m.Body, &b)
	return b.Type
}

// RPCError returns the error a reply of type "error" carries, or nil.
func (m Message) RPCError() error {
	var b MessageBody
	if err := json.Unmarshal(m.Body, &b); err != nil || b.Type != "error" {
		return nil
	}
	return NewRPCError(b.Code, b.Text)
}

// Decode unmarshals the body into v; a body that does not fit is a
// malformed-request error (12), which a handler can return as is.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return NewRPCError(MalformedRequest, err.Error())
	}
	return nil
}

// msgID returns the body's msg_id, if it has one.
func (m Message) msgID() (uint64, bool) {
	if m.known {
		return m.id, m.hasID
	}
	var b struct {
		MsgID *uint64 `json:"msg_id"`
	}
	if json.Unmarshal(m.Body, &b) != nil || b.MsgID == nil {
		return 0, false
	}
	return *b.MsgID, true
}

// encode serialises a body, which must be a JSON object, setting field to value
// when set is true (replacing the body's own field of that name, if any).
func encode(body any, field string, value uint64, set bool) ([]byte, error) {
	var text []byte
	switch b := body.(type) {
	case json.RawMessage:
		text = b
	case []byte:
		text = b
	default:
		var err error
		if text, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	text = bytes.TrimSpace(text)
	if len(text) < 2 || text[0] != '{' || text[len(text)-1] != '}' {
		return nil, NewRPCError(Crash, "a message body must be a JSON object: "+string(text))
	}
	if !set {
		return text, nil
	}
	key := `"` + field + `"`
	if !bytes.Contains(text, []byte(key)) {
		// The field is nowhere in the text, so not at the top level: splice it in.
		out := make([]byte, 0, len(text)+len(key)+24)
		out = append(out, '{')
		out = append(out, key...)
		out = append(out, ':')
		out = strconv.AppendUint(out, value, 10)
		if rest := bytes.TrimSpace(text[1:]); len(rest) > 1 {
			out = append(out, ',')
		}
		return append(out, text[1:]...), nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, err
	}
	m[field] = json.RawMessage(strconv.FormatUint(value, 10))
	return json.Marshal(m)
}

// Request is a request kept to be answered later, e.g. in a node's handoff state.
// It serialises as the Rust SDK's Request<T>: {"src":..,"msg_id":..|null,"body":..}.
type Request struct {
	Src   string          `json:"src"`
	MsgID *uint64         `json:"msg_id"`
	Body  json.RawMessage `json:"body"`
}

// Request returns the message as a Request (its whole body kept).
func (m Message) Request() Request {
	r := Request{Src: m.Src, Body: m.Body}
	if id, ok := m.msgID(); ok {
		r.MsgID = &id
	}
	return r
}
