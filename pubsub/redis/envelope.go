package redis

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/suzaku-go/suzaku/pubsub"
)

// The envelope between nodes; see "Wire format" in the package doc. The
// NATS adapter has the same code and format.

const (
	envelopeVersion = 1
	flagOnly        = 1 << 0 // node is the target; else the sender
	flagBinary      = 1 << 1
	knownFlags      = flagOnly | flagBinary
)

// envelope is a decoded message.
type envelope struct {
	only bool   // mode: only node (true) or all but node
	node string // target (only) or sender (except)
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

// decode parses an envelope from a Redis message. The topic and event are
// copies, so that the message they came from is not kept alive by them;
// the payload is a copy too, since Redis messages come as strings.
func decode(s string) (envelope, error) {
	if len(s) < 2 || s[0] != envelopeVersion || s[1]&^knownFlags != 0 {
		return envelope{}, errBadEnvelope
	}
	flags := s[1]
	rest := s[2:]
	node, rest, ok1 := cutString(rest)
	topic, rest, ok2 := cutString(rest)
	event, rest, ok3 := cutString(rest)
	if !ok1 || !ok2 || !ok3 || node == "" {
		return envelope{}, errBadEnvelope
	}
	m := &pubsub.Message{
		Topic:   strings.Clone(topic),
		Event:   strings.Clone(event),
		Payload: []byte(rest),
		Binary:  flags&flagBinary != 0,
	}
	return envelope{only: flags&flagOnly != 0, node: node, msg: m}, nil
}

// cutString reads a uvarint length and that many bytes from s.
func cutString(s string) (v, rest string, ok bool) {
	var n uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		n |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return "", "", false // overflows 64 bits
			}
			s = s[i+1:]
			if n > uint64(len(s)) {
				return "", "", false
			}
			return s[:n], s[n:], true
		}
	}
	return "", "", false
}
