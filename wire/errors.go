package wire

import "errors"

// ErrUnencodable is wrapped by every encode error: a binary meta field longer
// than 255 bytes, an empty topic, a binary payload for [V1], and the like.
// These are bugs in the caller, never in the peer.
var ErrUnencodable = errors.New("message cannot be encoded")

// Error is the error every serializer returns. It wraps [ErrMalformed] for a
// frame that cannot be decoded and [ErrUnencodable] for a message that cannot
// be encoded, so callers branch with errors.Is (a transport closes the
// connection on ErrMalformed) and log Error() as is.
type Error struct {
	// Op is the serializer and the operation, such as "v2 decode".
	Op string
	// Reason says what is wrong, such as "ref must be a string or null".
	Reason string
	// Err is ErrMalformed or ErrUnencodable.
	Err error
}

// Error returns "wire: Op: Reason".
func (e *Error) Error() string { return "wire: " + e.Op + ": " + e.Reason }

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Operations named by [Error.Op].
const (
	opV2Decode       = "v2 decode"
	opV2DecodeServer = "v2 decode server"
	opV2Encode       = "v2 encode"
	opV2EncodeClient = "v2 encode client"
	opV1Decode       = "v1 decode"
	opV1DecodeServer = "v1 decode server"
	opV1Encode       = "v1 encode"
	opV1EncodeClient = "v1 encode client"
)

func malformed(op, reason string) error {
	return &Error{Op: op, Reason: reason, Err: ErrMalformed}
}

func unencodable(op, reason string) error {
	return &Error{Op: op, Reason: reason, Err: ErrUnencodable}
}
