package channel

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Payload is the body of a message a client sent: JSON text, or raw bytes
// when the client pushed an ArrayBuffer.
type Payload struct {
	data   []byte
	binary bool
}

// JSONPayload wraps JSON text as a Payload. It does not validate it.
func JSONPayload(data []byte) Payload { return Payload{data: data} }

// BinaryPayload wraps raw bytes as a binary Payload.
func BinaryPayload(data []byte) Payload { return Payload{data: data, binary: true} }

// ErrBinaryPayload is returned by [Payload.Decode] for a binary payload.
var ErrBinaryPayload = errors.New("channel: payload is binary, not JSON")

// Decode unmarshals a JSON payload into v.
func (p Payload) Decode(v any) error {
	if p.binary {
		return ErrBinaryPayload
	}
	if len(p.data) == 0 {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal(p.data, v)
}

// Bytes returns the payload's bytes: JSON text, or the raw binary data.
// The caller must not modify them.
func (p Payload) Bytes() []byte { return p.data }

// IsBinary reports whether the client sent raw bytes.
func (p Payload) IsBinary() bool { return p.binary }

// String returns the JSON text, or a short description of binary data.
func (p Payload) String() string {
	if p.binary {
		return fmt.Sprintf("binary(%d bytes)", len(p.data))
	}
	return string(p.data)
}

// Binary is a value that is sent as raw bytes (a V2 binary frame, an
// ArrayBuffer in phoenix.js) when given as a push payload, a broadcast
// payload or a reply response.
type Binary []byte

// encodeValue turns a payload or response given by channel code into its
// wire form. nil becomes {}; [Binary] and binary [Payload]s stay bytes;
// json.RawMessage is taken as is; anything else is marshalled to JSON.
func encodeValue(v any) (data []byte, binary bool, err error) {
	switch v := v.(type) {
	case nil:
		return []byte("{}"), false, nil
	case Binary:
		return v, true, nil
	case Payload:
		if len(v.data) == 0 && !v.binary {
			return []byte("{}"), false, nil
		}
		return v.data, v.binary, nil
	case json.RawMessage:
		if len(v) == 0 {
			return []byte("{}"), false, nil
		}
		return v, false, nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, false, fmt.Errorf("channel: encode payload: %w", err)
		}
		return b, false, nil
	}
}

// Reply is a channel's answer to a client message. The zero Reply sends
// nothing: return it when there is no reply, or when the reply will be sent
// later with [Channel.ReplyTo].
type Reply struct {
	// Status is "ok", "error", or any string the client matches on.
	Status string
	// Response is the reply body: nil for {}, a [Binary] for bytes, or any
	// value encoding/json can marshal.
	Response any
}

// OK is an "ok" reply with the given response.
func OK(response any) Reply { return Reply{Status: "ok", Response: response} }

// Error is an "error" reply with the given response.
func Error(response any) Reply { return Reply{Status: "error", Response: response} }

// Reason is the conventional error response {"reason": reason}.
func Reason(reason string) map[string]string { return map[string]string{"reason": reason} }

// JoinError refuses a join with a response the client receives as the
// error reply. Any other error returned from [Handler.Join] is logged at
// Error level and answered {"reason":"join failed"}.
type JoinError struct {
	Response any
}

func (e *JoinError) Error() string { return fmt.Sprintf("channel: join refused: %v", e.Response) }

// JoinFailedReason is the reason a join gets when Join returns an error
// that is not a [*JoinError]: the error itself is logged, not sent.
const JoinFailedReason = "join failed"

// Refuse returns a [JoinError] with response {"reason": reason}.
func Refuse(reason string) error { return &JoinError{Response: Reason(reason)} }
