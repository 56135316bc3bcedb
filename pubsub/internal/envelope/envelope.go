// Package envelope is the format of a message between nodes, shared by
// the Redis and NATS adapters (see "Wire format" in their package docs):
//
//	[version 1][flags: bit 0 only (else except), bit 1 binary, bit 2 offset]
//	[uvarint len][node][uvarint len][topic][uvarint len][event]
//	([uvarint len][offset, decimal ASCII][uvarint len][epoch] when bit 2)[payload…]
//
// The offset of a stream message is decimal text rather than a varint so
// that a Redis Lua script, which assigns it, can splice it and the epoch
// in with string.char(#s)..s (see [Split]).
//
// The node is the sender of an "except" message (every node but it) and
// the target of an "only" message.
package envelope

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/suzaku-go/suzaku/pubsub"
)

const (
	Version    = 1
	flagOnly   = 1 << 0 // node is the target; else the sender
	flagBinary = 1 << 1
	flagOffset = 1 << 2
	knownFlags = flagOnly | flagBinary | flagOffset
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
	if m.Offset != 0 {
		n += 21 + binary.MaxVarintLen64 + len(m.Epoch)
	}
	b := make([]byte, 0, n)
	b = appendHead(b, only, node, m, m.Offset != 0)
	if m.Offset != 0 {
		b = appendString(b, strconv.FormatUint(m.Offset, 10))
		b = appendString(b, m.Epoch)
	}
	return append(b, m.Payload...)
}

// Split returns the envelope of the stream message m, sent to every node
// (except node, which should be a name no node has), in two parts: the
// offset and the epoch, once known, go between them, each as one length
// byte (both are shorter than 128 bytes) and its bytes.
// Decode(head + len + digits + len + epoch + tail) is m with that offset
// and epoch.
func Split(node string, m *pubsub.Message) (head, tail []byte) {
	head = appendHead(make([]byte, 0, 2+binary.MaxVarintLen64*3+len(node)+len(m.Topic)+len(m.Event)), false, node, m, true)
	return head, m.Payload
}

func appendHead(b []byte, only bool, node string, m *pubsub.Message, offset bool) []byte {
	var flags byte
	if only {
		flags |= flagOnly
	}
	if m.Binary {
		flags |= flagBinary
	}
	if offset {
		flags |= flagOffset
	}
	b = append(b, Version, flags)
	b = appendString(b, node)
	b = appendString(b, m.Topic)
	return appendString(b, m.Event)
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
	var offset uint64
	var epoch []byte
	if flags&flagOffset != 0 {
		digits, r, ok := cutBytes(rest)
		if !ok {
			return Envelope{}, ErrMalformed
		}
		if offset, ok = ParseOffset(digits); !ok {
			return Envelope{}, ErrMalformed
		}
		if epoch, r, ok = cutBytes(r); !ok {
			return Envelope{}, ErrMalformed
		}
		rest = r
	}
	if len(rest) == 0 {
		rest = nil
	}
	m := &pubsub.Message{
		Topic:   string(topic),
		Event:   string(event),
		Payload: rest,
		Binary:  flags&flagBinary != 0,
		Offset:  offset,
		Epoch:   string(epoch),
	}
	return Envelope{Only: flags&flagOnly != 0, Node: node, Msg: m}, nil
}

// cutBytes reads a uvarint length and that many bytes from b.
// ParseOffset parses a stream offset: 1 to 20 decimal digits, no leading
// zero, not 0, at most math.MaxUint64.
func ParseOffset(digits []byte) (uint64, bool) {
	if len(digits) == 0 || len(digits) > 20 || digits[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

func cutBytes(b []byte) (v, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	b = b[k:]
	return b[:n:n], b[n:], true
}
