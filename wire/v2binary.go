package wire

import (
	"strconv"
	"unicode/utf8"
)

// Binary frame kinds: the first byte of a V2 binary frame.
const (
	binaryPush      = 0
	binaryReply     = 1
	binaryBroadcast = 2
)

// maxMetaLen is the longest meta field of a binary frame: its length is a u8.
const maxMetaLen = 255

// Meta field names, in the order the layouts below list them.
const (
	fieldJoinRef = "join_ref"
	fieldRef     = "ref"
	fieldTopic   = "topic"
	fieldEvent   = "event"
	fieldStatus  = "status"
)

// Binary layouts: the meta fields after the kind byte, as many u8 lengths
// as fields, then the fields, then the payload (docs/protocol.md §2.3).
var (
	layoutClientPush = []string{fieldJoinRef, fieldRef, fieldTopic, fieldEvent}
	layoutServerPush = []string{fieldJoinRef, fieldTopic, fieldEvent}
	layoutReply      = []string{fieldJoinRef, fieldRef, fieldTopic, fieldStatus}
	layoutBroadcast  = []string{fieldTopic, fieldEvent}
)

// encodeV2Binary builds the binary frame for m into one exactly sized slice.
func encodeV2Binary(op string, m *Message, client bool) (Frame, error) {
	if err := checkKind(op, m.Kind, client); err != nil {
		return Frame{}, err
	}
	var (
		kind   byte
		fields [4]string
		names  []string
	)
	switch {
	case client:
		kind, names = binaryPush, layoutClientPush
		fields = [4]string{m.JoinRef, m.Ref, m.Topic, m.Event}
	case m.Kind == KindPush:
		if m.Ref != "" {
			return Frame{}, unencodable(op, "a binary push has no ref")
		}
		kind, names = binaryPush, layoutServerPush
		fields = [4]string{m.JoinRef, m.Topic, m.Event}
	case m.Kind == KindReply:
		kind, names = binaryReply, layoutReply
		fields = [4]string{m.JoinRef, m.Ref, m.Topic, m.Status}
	default:
		kind, names = binaryBroadcast, layoutBroadcast
		fields = [4]string{m.Topic, m.Event}
	}
	n := 1 + len(names) + len(m.Payload)
	for i, name := range names {
		f := fields[i]
		switch {
		case len(f) > maxMetaLen:
			return Frame{}, unencodable(op, name+" is "+strconv.Itoa(len(f))+" bytes, more than 255")
		case !utf8.ValidString(f):
			return Frame{}, unencodable(op, name+" is not valid UTF-8")
		case f == "" && (name == fieldTopic || name == fieldEvent):
			return Frame{}, unencodable(op, "empty "+name)
		}
		n += len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, kind)
	for i := range names {
		b = append(b, byte(len(fields[i])))
	}
	for i := range names {
		b = append(b, fields[i]...)
	}
	b = append(b, m.Payload...)
	return Frame{Opcode: OpBinary, Data: b}, nil
}

// decodeV2Binary parses a binary frame: only a client push for a server
// (server is false), any server kind for a client. Lengths past the end of
// data are an error, never a panic.
func decodeV2Binary(op string, data []byte, server bool) (Message, error) {
	if len(data) == 0 {
		return Message{}, malformed(op, "empty binary frame")
	}
	var m Message
	var names []string
	switch kind := data[0]; {
	case kind == binaryPush && !server:
		names = layoutClientPush
	case kind == binaryPush:
		names = layoutServerPush
	case kind == binaryReply && server:
		m.Kind, m.Event, names = KindReply, EventReply, layoutReply
	case kind == binaryBroadcast && server:
		m.Kind, names = KindBroadcast, layoutBroadcast
	case !server && kind <= binaryBroadcast:
		return Message{}, malformed(op, "binary kind "+strconv.Itoa(int(kind))+" is not a client push")
	default:
		return Message{}, malformed(op, "unknown binary kind "+strconv.Itoa(int(kind)))
	}
	header := 1 + len(names)
	if len(data) < header {
		return Message{}, malformed(op, "binary frame truncated: header needs "+
			strconv.Itoa(header)+" bytes, got "+strconv.Itoa(len(data)))
	}
	end := header
	for i := range names {
		end += int(data[1+i])
	}
	if len(data) < end {
		return Message{}, malformed(op, "binary frame truncated: meta fields need "+
			strconv.Itoa(end)+" bytes, got "+strconv.Itoa(len(data)))
	}
	// The meta fields are substrings of one string: one allocation.
	meta := string(data[header:end])
	off := 0
	for i, name := range names {
		f := meta[off : off+int(data[1+i])]
		off += len(f)
		if !utf8.ValidString(f) {
			return Message{}, malformed(op, name+" is not valid UTF-8")
		}
		switch name {
		case fieldJoinRef:
			m.JoinRef = f
		case fieldRef:
			m.Ref = f
		case fieldTopic:
			m.Topic = f
		case fieldEvent:
			m.Event = f
		case fieldStatus:
			m.Status = f
		}
		if f == "" && (name == fieldTopic || name == fieldEvent) {
			return Message{}, malformed(op, name+" must not be empty")
		}
	}
	m.Payload = clone(data[end:])
	m.Binary = true
	return m, nil
}
