package wire

import "strconv"

// V2 is the serializer of vsn 2.0.0, the one the phoenix npm client speaks.
// Messages with JSON payloads travel as JSON arrays in text frames,
//
//	[join_ref, ref, topic, event, payload]
//
// and messages with binary payloads in binary frames whose first byte is
// the kind (0 push, 1 reply, 2 broadcast), followed by the u8 lengths of the
// meta fields, the fields, and the payload bytes. A meta field (ref, topic,
// event, status) of a binary frame is at most 255 bytes of UTF-8.
//
// The zero value is ready to use and safe for concurrent use.
type V2 struct{}

var _ Serializer = V2{}

// Version returns "2.0.0".
func (V2) Version() string { return "2.0.0" }

// Decode parses a frame a client sent: a text frame holding a JSON array of
// at least five elements (extra ones are ignored) or a binary push. The
// message is always a [KindPush]; its Payload is a copy of the payload's
// bytes, so f.Data may be reused once Decode returns.
func (V2) Decode(f Frame) (Message, error) {
	switch f.Opcode {
	case OpText:
		return decodeV2Text(opV2Decode, f.Data, false)
	case OpBinary:
		return decodeV2Binary(opV2Decode, f.Data, false)
	}
	return Message{}, badOpcode(opV2Decode, f.Opcode)
}

// Encode builds the frame a server sends for m: a binary frame if m.Binary
// is set, a text frame otherwise.
//
//	KindPush       [join_ref, ref, topic, event, payload]   (ref is null unless set, as for phx_close)
//	KindReply      [join_ref, ref, topic, "phx_reply", {"response":payload,"status":status}]
//	KindBroadcast  [null, ref, topic, event, payload]     (ref is null unless set: a stream offset)
//
// Empty strings become null and an empty JSON payload becomes {}. The
// payload is copied verbatim, so it must be valid JSON. The frame's Data is
// a new slice that shares nothing with m, so one broadcast frame can be
// written to many connections.
func (V2) Encode(m *Message) (Frame, error) {
	if m == nil {
		return Frame{}, unencodable(opV2Encode, "nil message")
	}
	if m.Binary {
		return encodeV2Binary(opV2Encode, m, false)
	}
	return encodeV2Text(opV2Encode, m, false)
}

// EncodeClient builds the frame a client sends for the push m, as
// [join_ref, ref, topic, event, payload] or a binary push. m.Kind must be
// [KindPush].
func (V2) EncodeClient(m *Message) (Frame, error) {
	if m == nil {
		return Frame{}, unencodable(opV2EncodeClient, "nil message")
	}
	if m.Binary {
		return encodeV2Binary(opV2EncodeClient, m, true)
	}
	return encodeV2Text(opV2EncodeClient, m, true)
}

// DecodeServer parses a frame a server sent. A phx_reply text frame, or a
// binary reply, comes back as [KindReply] with Event "phx_reply", the
// reply's status as Status (null becomes "") and its response as Payload. A
// text frame with null join_ref and ref, or a binary broadcast, comes back
// as [KindBroadcast]; anything else as [KindPush] (a stream message,
// [null, offset, …], is a push with Ref set and no JoinRef).
func (V2) DecodeServer(f Frame) (Message, error) {
	switch f.Opcode {
	case OpText:
		return decodeV2Text(opV2DecodeServer, f.Data, true)
	case OpBinary:
		return decodeV2Binary(opV2DecodeServer, f.Data, true)
	}
	return Message{}, badOpcode(opV2DecodeServer, f.Opcode)
}

func badOpcode(op string, o Opcode) error {
	return malformed(op, "unknown opcode "+strconv.Itoa(int(o)))
}

// checkKind returns an error unless k is a kind the operation can encode:
// any kind for a server, only pushes for a client.
func checkKind(op string, k Kind, client bool) error {
	if k > KindBroadcast {
		return unencodable(op, "unknown kind "+strconv.Itoa(int(k)))
	}
	if client && k != KindPush {
		return unencodable(op, "a client can only send pushes, not "+k.String())
	}
	return nil
}
