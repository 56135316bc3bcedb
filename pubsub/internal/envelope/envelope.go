// Package envelope is the format of a message between nodes, shared by
// the Redis and NATS adapters (see "Wire format" in their package docs):
//
//	[version 1][flags: bit 0 only (else except), bit 1 binary]
//	[uvarint len][node][uvarint len][topic][uvarint len][event][payload…]
//
// The node is the sender of an "except" message (every node but it) and
// the target of an "only" message.
package envelope

import (
	"encoding/binary"
	"errors"

	"github.com/suzaku-go/suzaku/pubsub"
)

const (
	Version    = 1
	flagOnly   = 1 << 0 // node is the target; else the sender
	flagBinary = 1 << 1
	knownFlags = flagOnly | flagBinary
)

// Envelope is a decoded message.
type Envelope struct {
	Only bool   // mode: only Node (true) or every node but Node
	Node []byte // target (only) or sender (except)
	Msg  *pubsub.Message
}

// ErrMalformed is returned by Decode for bytes that are not an envelope.
var ErrMalformed = errors.New("malformed envelope")

// Encode returns the envelope of m, sent by (except) or to (only) node.
func Encode(only bool, node string, m *pubsub.Message) []byte {
	n := 2 + binary.MaxVarintLen64*3 + len(node) + len(m.Topic) + len(m.Event) + len(m.Payload)
	b := make([]byte, 0, n)
	var flags byte
	if only {
		flags |= flagOnly
	}
	if m.Binary {
		flags |= flagBinary
	}
	b = append(b, Version, flags)
	b = appendString(b, node)
	b = appendString(b, m.Topic)
	b = appendString(b, m.Event)
	return append(b, m.Payload...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode parses an envelope. It keeps data: the payload and node are
// slices of it, so pass bytes no one else will modify. The topic and event
// are copies.
func Decode(data []byte) (Envelope, error) {
	if len(data) < 2 || data[0] != Version || data[1]&^knownFlags != 0 {
		return Envelope{}, ErrMalformed
	}
	flags := data[1]
	rest := data[2:]
	node, rest, ok1 := cutBytes(rest)
	topic, rest, ok2 := cutBytes(rest)
	event, rest, ok3 := cutBytes(rest)
	if !ok1 || !ok2 || !ok3 || len(node) == 0 {
		return Envelope{}, ErrMalformed
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
	return Envelope{Only: flags&flagOnly != 0, Node: node, Msg: m}, nil
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
