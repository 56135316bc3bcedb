package wire

import (
	"errors"
	"strconv"
)

// Reserved topics and events of the protocol.
const (
	TopicPhoenix   = "phoenix"   // the socket's own topic, used by heartbeats
	EventHeartbeat = "heartbeat" // client keep-alive on TopicPhoenix
	EventJoin      = "phx_join"
	EventLeave     = "phx_leave"
	EventReply     = "phx_reply"
	EventError     = "phx_error"
	EventClose     = "phx_close"
)

// Reply statuses used by the server.
const (
	StatusOK    = "ok"
	StatusError = "error"
)

// Kind tells what a message is, which decides its encoding.
type Kind uint8

const (
	// KindPush is a client push (inbound), or a server push to one join
	// (outbound: join_ref set, ref null except on phx_close and phx_error,
	// which carry the join_ref as ref).
	KindPush Kind = iota
	// KindReply answers the client message whose ref it carries; Status and
	// Payload (the response) are wrapped as {"response":…,"status":…}.
	KindReply
	// KindBroadcast goes to every subscriber of a topic: join_ref is null,
	// and so is ref except on a stream topic, where ref carries the
	// message's offset as a decimal string. A binary broadcast has no ref
	// slot (V2 binary), so it never carries an offset.
	KindBroadcast
)

// String returns "push", "reply" or "broadcast".
func (k Kind) String() string {
	switch k {
	case KindPush:
		return "push"
	case KindReply:
		return "reply"
	case KindBroadcast:
		return "broadcast"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Message is one Phoenix Channels message.
type Message struct {
	Kind    Kind
	JoinRef string // "" is null
	Ref     string // "" is null
	Topic   string
	Event   string
	// Status is the reply status ("ok", "error" or any string) for
	// KindReply; "" is null, as in Phoenix's replies with no status.
	Status string
	// Payload is JSON text, or raw bytes when Binary is set. For KindReply it
	// is the response. An empty JSON payload encodes as {}.
	Payload []byte
	// Binary marks a binary payload (sent in a binary frame by V2).
	Binary bool
}

// Opcode is a frame's type, numbered as WebSocket opcodes.
type Opcode uint8

// Frame opcodes.
const (
	OpText   Opcode = 1
	OpBinary Opcode = 2
)

// Frame is one transport frame: a WebSocket message, or one LongPoll line.
type Frame struct {
	Opcode Opcode
	Data   []byte
}

// Serializer encodes and decodes messages for one protocol version.
// Implementations are stateless and safe for concurrent use.
type Serializer interface {
	// Version is the vsn this serializer answers to, such as "2.0.0".
	Version() string
	// Decode parses a frame sent by a client.
	Decode(f Frame) (Message, error)
	// Encode builds a frame for the server to send.
	Encode(m *Message) (Frame, error)
	// EncodeClient builds a frame for a client to send.
	EncodeClient(m *Message) (Frame, error)
	// DecodeServer parses a frame sent by a server. Replies come back as
	// KindReply with Status and the response as Payload; frames with null
	// join_ref and ref as KindBroadcast; the rest as KindPush.
	DecodeServer(f Frame) (Message, error)
}

// ErrMalformed is wrapped by every decode error.
var ErrMalformed = errors.New("malformed frame")

// ErrUnsupportedVersion is returned by Negotiate for a vsn no serializer
// answers to.
var ErrUnsupportedVersion = errors.New("unsupported protocol version")
