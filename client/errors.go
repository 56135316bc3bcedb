package client

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Errors returned by the client. Timeouts are reported as errors wrapping
// context.DeadlineExceeded, whether they come from a context deadline or
// from [Config.Timeout].
var (
	// ErrClosed: the socket was closed with Close, or, without
	// Config.Reconnect, its connection was lost.
	ErrClosed = errors.New("socket closed")
	// ErrNotConnected: the socket is between two connections (reconnecting).
	ErrNotConnected = errors.New("socket not connected")
	// ErrNotJoined: Push or Send on a channel whose Join was never called.
	ErrNotJoined = errors.New("channel not joined")
	// ErrAlreadyJoined: Join called a second time on one Channel. As in
	// phoenix.js, a Channel is joined once; it rejoins by itself, and a
	// closed one is replaced with a new Socket.Channel.
	ErrAlreadyJoined = errors.New("channel already joined")
	// ErrChannelClosed: the channel was left, or the server closed it
	// (phx_close). It does not rejoin.
	ErrChannelClosed = errors.New("channel closed")
	// ErrChannelErrored: the channel crashed on the server (phx_error)
	// before the push was answered. The channel rejoins by itself.
	ErrChannelErrored = errors.New("channel errored")
	// ErrConnectionLost: the connection was lost before the push was
	// answered. With Config.Reconnect the channel rejoins on the next one.
	ErrConnectionLost = errors.New("connection lost")
	// ErrJoinRefused is wrapped by [JoinError].
	ErrJoinRefused = errors.New("join refused")
)

// JoinError is returned by [Channel.Join] when the server answers the join
// with status "error", as for an unauthorized or unmatched topic.
type JoinError struct {
	Topic string
	// Response is the reply's response, such as {"reason":"unauthorized"}.
	Response json.RawMessage
}

// Error returns `join "topic": join refused: response`.
func (e *JoinError) Error() string {
	return fmt.Sprintf("join %q: %v: %s", e.Topic, ErrJoinRefused, e.Response)
}

// Unwrap returns ErrJoinRefused.
func (e *JoinError) Unwrap() error { return ErrJoinRefused }

// CloseStatus returns the WebSocket close code that err carries, such as
// 1001 when the server went away, or -1 if err is not a close by the peer.
// It reads the errors of [Socket.Err] and those wrapping ErrConnectionLost.
func CloseStatus(err error) int {
	var ce wsutil.ClosedError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// HandshakeStatus returns the HTTP status with which the server refused
// the WebSocket upgrade in err, as from [Dial], or -1. Phoenix answers 403
// when its connect callback refuses the connection.
func HandshakeStatus(err error) int {
	var se ws.StatusError
	if errors.As(err, &se) {
		return int(se)
	}
	return -1
}
