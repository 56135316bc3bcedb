package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Events routes a channel's client events to typed handlers, as api.Handle
// does for HTTP requests: each event's payload is decoded into a struct,
// validated, handed to a function that returns a typed reply or an error,
// and an event with no entry is answered {"reason":"unknown event"}.
//
// H is the type of the per-join handler (usually a pointer to your
// Handler struct), so the functions are method expressions that see the
// join's state. Build the map once, next to the handler type, and call
// [Events.Dispatch] from HandleIn:
//
//	var roomEvents = channel.Events[*room]{
//		"new_msg": channel.On((*room).newMsg),
//		"typing":  channel.On((*room).typing),
//	}
//
//	func (r *room) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
//		return roomEvents.Dispatch(r, ctx, ch, event, p)
//	}
//
// An Events map is read-only once built and safe to share between joins.
// [InHandler] keeps working as before; Events is a helper on top of it.
type Events[H any] map[string]EventFunc[H]

// EventFunc answers one client event for the handler h. [On] builds one
// from a typed function; a hand-written EventFunc sees the raw [Payload].
type EventFunc[H any] func(h H, ctx context.Context, ch *Channel, event string, p Payload) Reply

// Dispatch answers event with its EventFunc, or with the error reply
// {"reason":"unknown event"} when e has none.
func (e Events[H]) Dispatch(h H, ctx context.Context, ch *Channel, event string, p Payload) Reply {
	f, ok := e[event]
	if !ok {
		return Error(Reason("unknown event"))
	}
	return f(h, ctx, ch, event, p)
}

// Validator is implemented by event payload types that check themselves.
// [On] calls Validate after decoding (on In or *In); an error is the
// client's to read and is answered as an error reply: a *[ReplyError] as it
// is, any other error as {"reason": err.Error()}. It has the same shape as
// api.Validator, so one request type can serve both.
type Validator interface {
	Validate() error
}

// NoReply is the reply type of typed event handlers that send no reply, or
// answer later with [Channel.ReplyTo] (take [Channel.ReplyRef] first).
type NoReply struct{}

// ReplyError is an error whose Response the client receives as the error
// reply of its push. Return one from a typed event handler ([On]) or from
// Validate to choose what the client reads; [Fail] builds the common
// {"reason": …} case.
type ReplyError struct {
	// Status is the reply status; empty means "error".
	Status string
	// Response is the reply body, as in [Reply].
	Response any
}

func (e *ReplyError) Error() string { return fmt.Sprintf("channel: reply error: %v", e.Response) }

// Fail returns a *[ReplyError] with response {"reason": reason}.
func Fail(reason string) error { return &ReplyError{Response: Reason(reason)} }

// On makes an [EventFunc] from a typed function, as api.Handle makes a
// handler: the payload is decoded into an In (with encoding/json; unknown
// fields are ignored, as phoenix clients may add some), validated if In or
// *In is a [Validator], and passed to f. f's reply is sent as an ok reply,
// unless Out is [Reply] (sent as it is) or [NoReply] (nothing is sent).
//
// Failures become error replies, never crashes: a binary payload or JSON
// that does not decode into In gets {"reason":"invalid payload","detail":…};
// a failed Validate gets its *[ReplyError] or {"reason": err.Error()}; an
// error from f gets its *[ReplyError], and any other error gets
// {"reason":"internal error"} while the real error is logged, with the
// topic and event, by the socket's Logger at Error level.
//
// In may be [Payload] to receive the raw payload, or struct{} for events
// that carry none.
func On[H, In, Out any](f func(h H, ctx context.Context, ch *Channel, in In) (Out, error)) EventFunc[H] {
	t := reflect.TypeFor[In]()
	v := reflect.TypeFor[Validator]()
	raw := t == reflect.TypeFor[Payload]()
	inPointer := t.Kind() == reflect.Pointer
	validatePtr := reflect.PointerTo(t).Implements(v)
	validateVal := !validatePtr && t.Implements(v)
	_, noReply := any(*new(Out)).(NoReply)
	_, asReply := any(*new(Out)).(Reply)
	return func(h H, ctx context.Context, ch *Channel, event string, p Payload) Reply {
		var in In
		if raw {
			in = any(p).(In)
		} else if err := decodeEvent(p, &in); err != nil {
			return Error(map[string]string{"reason": "invalid payload", "detail": err.Error()})
		} else if inPointer && reflect.ValueOf(any(in)).IsNil() {
			return Error(map[string]string{"reason": "invalid payload", "detail": "payload must not be null"})
		}
		var err error
		switch {
		case validatePtr:
			err = any(&in).(Validator).Validate()
		case validateVal:
			err = any(in).(Validator).Validate()
		}
		if err != nil {
			return errorReply(err)
		}
		out, err := f(h, ctx, ch, in)
		if err != nil {
			var re *ReplyError
			if errors.As(err, &re) {
				return errorReply(re)
			}
			ch.sess.sock.log.Error("channel event failed", "topic", ch.topic, "event", event, "err", err)
			return Error(Reason("internal error"))
		}
		switch {
		case noReply:
			return Reply{}
		case asReply:
			return any(out).(Reply)
		}
		return OK(out)
	}
}

// errorReply turns a validation or handler error into the client's reply.
func errorReply(err error) Reply {
	var re *ReplyError
	if errors.As(err, &re) {
		status := re.Status
		if status == "" {
			status = "error"
		}
		return Reply{Status: status, Response: re.Response}
	}
	return Error(Reason(err.Error()))
}

// decodeEvent decodes a JSON payload into v and words the failure for the
// client, without Go type names.
func decodeEvent(p Payload, v any) error {
	if p.binary {
		return errors.New("the payload must be JSON, not binary")
	}
	err := p.Decode(v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("field %q must be a JSON %s", typ.Field, jsonKind(typ.Type))
	case errors.As(err, &typ):
		return fmt.Errorf("the payload must be a JSON %s", jsonKind(typ.Type))
	}
	return errors.New("malformed JSON")
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}

// AssignsAs returns the connection's assigns (from [Config].Connect) as a
// T. It reports false, with T's zero value, when the assigns are not a T or
// are a nil pointer, so it cannot panic where a type assertion
// (ch.Assigns().(*User)) would:
//
//	user, ok := channel.AssignsAs[*User](ch)
//	if !ok {
//		return nil, channel.Refuse("unauthorized")
//	}
func AssignsAs[T any](ch *Channel) (T, bool) {
	return assignsAs[T](ch.sess.assigns)
}

// SessionAssignsAs is [AssignsAs] for a [Session].
func SessionAssignsAs[T any](s *Session) (T, bool) { return assignsAs[T](s.assigns) }

func assignsAs[T any](a any) (T, bool) {
	v, ok := a.(T)
	if !ok {
		return v, false
	}
	if rv := reflect.ValueOf(a); rv.Kind() == reflect.Pointer && rv.IsNil() {
		var zero T
		return zero, false
	}
	return v, true
}
