package nats

import (
	"encoding/binary"
	"errors"

	"github.com/suzaku-go/suzaku/pubsub"
)

// The envelope between nodes; see "Wire format" in the package doc. The
// Redis adapter has the same code and format, decoding from a string.

const (
	envelopeVersion = 1
	flagOnly        = 1 << 0 // node is the target; else the sender
	flagBinary      = 1 << 1
	knownFlags      = flagOnly | flagBinary
)

// envelope is a decoded message.
type envelope struct {
	only bool   // mode: only node (true) or all but node
	node []byte // target (only) or sender (except)
	msg  *pubsub.Message
}

var errBadEnvelope = errors.New("malformed envelope")

// encode returns the envelope of m, sent by or to node.
func encode(only bool, node string, m *pubsub.Message) []byte {
	n := 2 + binary.MaxVarintLen64*3 + len(node) + len(m.Topic) + len(m.Event) + len(m.Payload)
	b := make([]byte, 0, n)
	var flags byte
	if only {
		flags |= flagOnly
	}
	if m.Binary {
		flags |= flagBinary
	}
	b = append(b, envelopeVersion, flags)
	b = appendString(b, node)
	b = appendString(b, m.Topic)
	b = appendString(b, m.Event)
	return append(b, m.Payload...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decode parses an envelope from a NATS message's data, which it keeps:
// the payload is a slice of it (nats.go gives each message its own copy).
// The topic and event are copies.
func decode(data []byte) (envelope, error) {
	if len(data) < 2 || data[0] != envelopeVersion || data[1]&^knownFlags != 0 {
		return envelope{}, errBadEnvelope
	}
	flags := data[1]
	rest := data[2:]
	node, rest, ok1 := cutBytes(rest)
	topic, rest, ok2 := cutBytes(rest)
	event, rest, ok3 := cutBytes(rest)
	if !ok1 || !ok2 || !ok3 || len(node) == 0 {
		return envelope{}, errBadEnvelope
	}
	if len(rest) == 0 {
		rest = nil
	}
	m := &pubsub.Message{
		Topic:   string(topic),
		Event:   string(event),
		Payload: rest,
		Binary:  flags&flagBinary != 0,
	}
	return envelope{only: flags&flagOnly != 0, node: node, msg: m}, nil
}

// cutBytes reads a uvarint length and that many bytes from b.
func cutBytes(b []byte) (v, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	b = b[k:]
	return b[:n:n], b[n:], true
}
