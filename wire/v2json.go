package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeV2Text parses [join_ref, ref, topic, event, payload, ...]. A server
// frame (server is true) is also classified, and a reply unwrapped.
func decodeV2Text(op string, data []byte, server bool) (Message, error) {
	if !json.Valid(data) {
		return Message{}, malformed(op, "frame is not valid JSON")
	}
	r := reader{data: data}
	if r.peek() != '[' {
		return Message{}, malformed(op, "frame must be a JSON array")
	}
	var el [5][2]int
	if n := r.elems(el[:]); n < len(el) {
		return Message{}, malformed(op, "frame must have 5 elements, got "+strconv.Itoa(n))
	}
	// The four meta fields are substrings of one string: one allocation.
	t := metaText{data: data, base: el[0][0], meta: string(data[el[0][0]:el[3][1]])}
	var m Message
	var err error
	if m.JoinRef, err = t.ref(op, "join_ref", el[0]); err != nil {
		return Message{}, err
	}
	if m.Ref, err = t.ref(op, "ref", el[1]); err != nil {
		return Message{}, err
	}
	if m.Topic, err = t.name(op, "topic", el[2]); err != nil {
		return Message{}, err
	}
	if m.Event, err = t.name(op, "event", el[3]); err != nil {
		return Message{}, err
	}
	payload := data[el[4][0]:el[4][1]]
	switch {
	case !server:
		m.Payload = clone(payload)
	case m.Event == EventReply:
		m.Kind = KindReply
		m.Event = EventReply
		if m.Status, m.Payload, err = decodeReply(op, payload); err != nil {
			return Message{}, err
		}
	default:
		if m.JoinRef == "" && m.Ref == "" {
			m.Kind = KindBroadcast
		}
		m.Payload = clone(payload)
	}
	return m, nil
}

// metaText turns the meta elements of a frame into strings that share the
// one string meta, which holds data[base:].
type metaText struct {
	data []byte
	base int
	meta string
}

// text returns the string element at span, or false if it holds invalid
// UTF-8.
func (t *metaText) text(span [2]int) (string, bool) {
	raw := t.data[span[0]:span[1]]
	if !utf8.Valid(raw) {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		return unquote(raw)
	}
	return t.meta[span[0]-t.base+1 : span[1]-t.base-1], true
}

// ref returns the string or null at span; null is "".
func (t *metaText) ref(op, name string, span [2]int) (string, error) {
	switch t.data[span[0]] {
	case 'n':
		return "", nil
	case '"':
		s, ok := t.text(span)
		if !ok {
			return "", malformed(op, name+" is not valid UTF-8")
		}
		return s, nil
	}
	return "", malformed(op, name+" must be a string or null")
}

// name returns the non-empty string at span.
func (t *metaText) name(op, name string, span [2]int) (string, error) {
	if t.data[span[0]] != '"' {
		return "", malformed(op, name+" must be a non-empty string")
	}
	s, ok := t.text(span)
	if !ok {
		return "", malformed(op, name+" is not valid UTF-8")
	}
	if s == "" {
		return "", malformed(op, name+" must be a non-empty string")
	}
	return s, nil
}

// decodeReply unwraps a reply payload {"response": r, "status": s}. Extra
// keys are ignored.
func decodeReply(op string, raw []byte) (status string, response []byte, err error) {
	if raw[0] != '{' {
		return "", nil, malformed(op, "reply payload must be an object")
	}
	var haveStatus bool
	r := reader{data: raw}
	err = r.object(func(key, val []byte) error {
		switch string(key) {
		case "response":
			response = val
		case "status":
			haveStatus = true
			switch val[0] {
			case 'n':
				status = ""
			case '"':
				s, ok := unquote(val)
				if !ok {
					return malformed(op, "reply status is not valid UTF-8")
				}
				status = s
			default:
				return malformed(op, "reply status must be a string or null")
			}
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	if response == nil || !haveStatus {
		return "", nil, malformed(op, `reply payload must have "response" and "status"`)
	}
	return status, clone(response), nil
}

// encodeV2Text builds the JSON array for m into one exactly sized slice.
func encodeV2Text(op string, m *Message, client bool) (Frame, error) {
	if err := checkKind(op, m.Kind, client); err != nil {
		return Frame{}, err
	}
	if m.Topic == "" {
		return Frame{}, unencodable(op, "empty topic")
	}
	joinRef, ref, event := m.JoinRef, m.Ref, m.Event
	switch m.Kind {
	case KindBroadcast:
		joinRef = "" // ref stays: a stream message's offset, or null
	case KindReply:
		event = EventReply
	}
	if event == "" {
		return Frame{}, unencodable(op, "empty event")
	}
	const (
		punct     = len(`[,,,,]`)
		replyWrap = len(`{"response":,"status":}`)
	)
	n := punct + nullableLen(joinRef) + nullableLen(ref) + quotedLen(m.Topic) +
		quotedLen(event) + payloadLen(m.Payload)
	if m.Kind == KindReply {
		n += replyWrap + nullableLen(m.Status)
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	b = appendNullable(b, joinRef)
	b = append(b, ',')
	b = appendNullable(b, ref)
	b = append(b, ',')
	b = appendString(b, m.Topic)
	b = append(b, ',')
	b = appendString(b, event)
	b = append(b, ',')
	if m.Kind == KindReply {
		b = append(b, `{"response":`...)
		b = appendPayload(b, m.Payload)
		b = append(b, `,"status":`...)
		b = appendNullable(b, m.Status)
		b = append(b, '}')
	} else {
		b = appendPayload(b, m.Payload)
	}
	b = append(b, ']')
	return Frame{Opcode: OpText, Data: b}, nil
}
