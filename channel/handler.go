package channel

import (
	"context"
	"errors"
)

// Handler is the code behind a topic. The [Router] makes a new Handler for
// every join, so a Handler's fields are that join's private state: they are
// only ever touched by the channel's own process, one message at a time,
// and need no locking.
//
// Join is the only required method. A Handler may also implement
// [InHandler], [OutHandler], [InfoHandler] and [Terminator].
type Handler interface {
	// Join decides whether the client may join ch.Topic(). It returns the
	// response of the ok reply (nil for {}), or an error: a [*JoinError] to
	// choose the error response; any other error is logged and answered
	// {"reason":"join failed"} ([JoinFailedReason]), so that its text (a
	// database error, a file path) never reaches the client.
	// A panic answers {"reason":"join crashed"}. Join runs in the channel's
	// process; to push right after the join, [Channel.Send] a message to
	// yourself and push from HandleInfo, as Phoenix's :after_join.
	Join(ctx context.Context, ch *Channel, payload Payload) (response any, err error)
}

// InHandler handles the events a client pushes on a joined channel.
type InHandler interface {
	// HandleIn answers one event. Return the zero Reply for no reply.
	// Call [Channel.Stop] to end the channel after the reply.
	HandleIn(ctx context.Context, ch *Channel, event string, payload Payload) Reply
}

// Interceptor lists the broadcast events that go through [OutHandler]
// instead of straight to the client. Interception costs a trip through the
// channel's mailbox and an encoding per subscriber: list only what you must.
type Interceptor interface {
	Intercept() []string
}

// OutHandler sees intercepted broadcasts before they reach the client. It
// may [Channel.Push] them, changed or not, or drop them.
type OutHandler interface {
	HandleOut(ctx context.Context, ch *Channel, event string, payload Payload)
}

// InfoHandler receives the messages sent with [Channel.Send] and by timers
// ([Channel.After], [Channel.Every]).
type InfoHandler interface {
	HandleInfo(ctx context.Context, ch *Channel, msg any)
}

// Terminator is told why its channel ended: [ErrLeft], [ErrClosed],
// [ErrDuplicateJoin], or the reason given to [Channel.Stop]. It is not
// called after a panic. Its ctx has the connection's values but is never
// cancelled (the channel's own context may already be done), so that
// Terminate can still broadcast; keep it short, it holds up the channel's
// end and a server's drain.
type Terminator interface {
	Terminate(ctx context.Context, ch *Channel, reason error)
}

// Reasons a channel ends. Those that wrap [ErrShutdown] are clean: the
// client gets phx_close (or nothing, when the connection is gone). Any
// other reason given to [Channel.Stop] is abnormal and sends phx_error,
// after which phoenix.js rejoins.
var (
	ErrShutdown      = errors.New("channel: shutdown")
	ErrLeft          = shutdown("left")
	ErrClosed        = shutdown("closed")
	ErrDuplicateJoin = shutdown("duplicate join")
	ErrNormal        = shutdown("normal")
)

// ErrCrashed is the reason [Channel.OnExit] hooks see after a panic.
var ErrCrashed = errors.New("channel: crashed")

type shutdownError string

func (e shutdownError) Error() string { return "channel: shutdown: " + string(e) }
func (e shutdownError) Unwrap() error { return ErrShutdown }

func shutdown(reason string) error { return shutdownError(reason) }

// Shutdown returns a clean-stop reason wrapping [ErrShutdown], like
// Phoenix's {:shutdown, reason}.
func Shutdown(reason string) error { return shutdown(reason) }

func isClean(reason error) bool { return reason == nil || errors.Is(reason, ErrShutdown) }
