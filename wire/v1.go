package wire

import (
	"encoding/json"
)

// V1 is the serializer of vsn 1.x (and of clients that send no vsn): one
// JSON object per text frame. Servers send
//
//	{"event":…,"payload":…,"ref":…,"topic":…}
//
// with no join_ref, in that key order, as Phoenix does; clients send the
// same keys plus "join_ref". V1 has no binary frames.
//
// The zero value is ready to use and safe for concurrent use.
type V1 struct{}

var _ Serializer = V1{}

// Version returns "1.0.0".
func (V1) Version() string { return "1.0.0" }

// Decode parses a frame a client sent: an object whose "topic", "event",
// "payload" and "ref" keys are required ("ref" may be null) and whose
// "join_ref" key is optional. Other keys are ignored, and a repeated key
// counts once, with its last value. The message is always a [KindPush].
func (V1) Decode(f Frame) (Message, error) {
	m, payload, err := decodeV1(opV1Decode, f)
	if err != nil {
		return Message{}, err
	}
	m.Payload = clone(payload)
	return m, nil
}

// Encode builds the frame a server sends for m. The frame carries no
// join_ref, so a client cannot tell a push with no ref from a broadcast. A
// reply's payload is {"response":payload,"status":status}. m.Binary is an
// error.
func (V1) Encode(m *Message) (Frame, error) {
	return encodeV1(opV1Encode, m, false)
}

// EncodeClient builds the frame a client sends for the push m, with keys
// topic, event, payload, ref and join_ref. m.Binary is an error.
func (V1) EncodeClient(m *Message) (Frame, error) {
	return encodeV1(opV1EncodeClient, m, true)
}

// DecodeServer parses a frame a server sent. A "join_ref" key is ignored,
// since V1 servers send none. A phx_reply comes back as [KindReply] with
// the reply unwrapped, a frame with a null ref as [KindBroadcast], and any
// other as [KindPush].
func (V1) DecodeServer(f Frame) (Message, error) {
	m, payload, err := decodeV1(opV1DecodeServer, f)
	if err != nil {
		return Message{}, err
	}
	m.JoinRef = ""
	switch {
	case m.Event == EventReply:
		m.Kind = KindReply
		if m.Status, m.Payload, err = decodeReply(opV1DecodeServer, payload); err != nil {
			return Message{}, err
		}
	case m.Ref == "":
		m.Kind = KindBroadcast
		m.Payload = clone(payload)
	default:
		m.Payload = clone(payload)
	}
	return m, nil
}

// decodeV1 parses a V1 object into a push, leaving the payload out of the
// message and returning it raw, for the caller to copy or unwrap.
func decodeV1(op string, f Frame) (Message, []byte, error) {
	switch f.Opcode {
	case OpText:
	case OpBinary:
		return Message{}, nil, malformed(op, "v1 has no binary frames")
	default:
		return Message{}, nil, badOpcode(op, f.Opcode)
	}
	if !json.Valid(f.Data) {
		return Message{}, nil, malformed(op, "frame is not valid JSON")
	}
	r := reader{data: f.Data}
	if r.peek() != '{' {
		return Message{}, nil, malformed(op, "frame must be a JSON object")
	}
	var (
		topic, event, ref, joinRef, payload []byte
		haveRef                             bool
	)
	err := r.object(func(key, val []byte) error {
		switch string(key) {
		case "topic":
			topic = val
		case "event":
			event = val
		case "payload":
			payload = val
		case "ref":
			ref, haveRef = val, true
		case "join_ref":
			joinRef = val
		}
		return nil
	})
	if err != nil {
		return Message{}, nil, err
	}
	for _, k := range [...]struct {
		name string
		ok   bool
	}{{"topic", topic != nil}, {"event", event != nil}, {"payload", payload != nil}, {"ref", haveRef}} {
		if !k.ok {
			return Message{}, nil, malformed(op, `missing key "`+k.name+`"`)
		}
	}
	var m Message
	if m.Topic, err = v1Name(op, "topic", topic); err != nil {
		return Message{}, nil, err
	}
	if m.Event, err = v1Name(op, "event", event); err != nil {
		return Message{}, nil, err
	}
	if m.Ref, err = v1Ref(op, "ref", ref); err != nil {
		return Message{}, nil, err
	}
	if joinRef != nil {
		if m.JoinRef, err = v1Ref(op, "join_ref", joinRef); err != nil {
			return Message{}, nil, err
		}
	}
	return m, payload, nil
}

// v1Ref returns the string or null raw; null is "".
func v1Ref(op, name string, raw []byte) (string, error) {
	switch raw[0] {
	case 'n':
		return "", nil
	case '"':
		s, ok := unquote(raw)
		if !ok {
			return "", malformed(op, name+" is not valid UTF-8")
		}
		return s, nil
	}
	return "", malformed(op, name+" must be a string or null")
}

// v1Name returns the non-empty string raw.
func v1Name(op, name string, raw []byte) (string, error) {
	if raw[0] != '"' {
		return "", malformed(op, name+" must be a non-empty string")
	}
	s, ok := unquote(raw)
	if !ok {
		return "", malformed(op, name+" is not valid UTF-8")
	}
	if s == "" {
		return "", malformed(op, name+" must be a non-empty string")
	}
	return s, nil
}

// encodeV1 builds the V1 object for m: keys event, payload, ref, topic for a
// server; topic, event, payload, ref, join_ref for a client.
func encodeV1(op string, m *Message, client bool) (Frame, error) {
	if m == nil {
		return Frame{}, unencodable(op, "nil message")
	}
	if err := checkKind(op, m.Kind, client); err != nil {
		return Frame{}, err
	}
	if m.Binary {
		return Frame{}, unencodable(op, "v1 has no binary payloads")
	}
	if m.Topic == "" {
		return Frame{}, unencodable(op, "empty topic")
	}
	ref, event := m.Ref, m.Event
	switch m.Kind {
	case KindReply:
		event = EventReply
	}
	if event == "" {
		return Frame{}, unencodable(op, "empty event")
	}
	if client {
		const keys = len(`{"topic":,"event":,"payload":,"ref":,"join_ref":}`)
		b := make([]byte, 0, keys+quotedLen(m.Topic)+quotedLen(event)+
			payloadLen(m.Payload)+nullableLen(ref)+nullableLen(m.JoinRef))
		b = append(b, `{"topic":`...)
		b = appendString(b, m.Topic)
		b = append(b, `,"event":`...)
		b = appendString(b, event)
		b = append(b, `,"payload":`...)
		b = appendPayload(b, m.Payload)
		b = append(b, `,"ref":`...)
		b = appendNullable(b, ref)
		b = append(b, `,"join_ref":`...)
		b = appendNullable(b, m.JoinRef)
		b = append(b, '}')
		return Frame{Opcode: OpText, Data: b}, nil
	}
	const (
		keys      = len(`{"event":,"payload":,"ref":,"topic":}`)
		replyWrap = len(`{"response":,"status":}`)
	)
	n := keys + quotedLen(event) + payloadLen(m.Payload) + nullableLen(ref) + quotedLen(m.Topic)
	if m.Kind == KindReply {
		n += replyWrap + nullableLen(m.Status)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"event":`...)
	b = appendString(b, event)
	b = append(b, `,"payload":`...)
	if m.Kind == KindReply {
		b = append(b, `{"response":`...)
		b = appendPayload(b, m.Payload)
		b = append(b, `,"status":`...)
		b = appendNullable(b, m.Status)
		b = append(b, '}')
	} else {
		b = appendPayload(b, m.Payload)
	}
	b = append(b, `,"ref":`...)
	b = appendNullable(b, ref)
	b = append(b, `,"topic":`...)
	b = appendString(b, m.Topic)
	b = append(b, '}')
	return Frame{Opcode: OpText, Data: b}, nil
}
