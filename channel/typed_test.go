package channel_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// typedRoom is a handler whose events are all typed.
type typedRoom struct{ said int }

type sayIn struct {
	Body string `json:"body"`
}

func (in sayIn) Validate() error {
	if strings.TrimSpace(in.Body) == "" || utf8.RuneCountInString(in.Body) > 10 {
		return errors.New("a message is 1 to 10 characters")
	}
	return nil
}

type sayOut struct {
	Body string `json:"body"`
	N    int    `json:"n"`
}

type strictIn struct{ Age int }

func (in *strictIn) Validate() error {
	if in.Age < 0 {
		return &channel.ReplyError{Status: "invalid", Response: map[string]string{"field": "age"}}
	}
	return nil
}

func (r *typedRoom) say(ctx context.Context, ch *channel.Channel, in sayIn) (sayOut, error) {
	r.said++
	return sayOut{Body: in.Body, N: r.said}, nil
}

func (r *typedRoom) age(ctx context.Context, ch *channel.Channel, in *strictIn) (map[string]int, error) {
	return map[string]int{"age": in.Age}, nil
}

func (r *typedRoom) fail(ctx context.Context, ch *channel.Channel, in struct{}) (struct{}, error) {
	return struct{}{}, channel.Fail("not today")
}

func (r *typedRoom) broken(ctx context.Context, ch *channel.Channel, in struct{}) (struct{}, error) {
	return struct{}{}, errors.New("sql: database is closed")
}

func (r *typedRoom) raw(ctx context.Context, ch *channel.Channel, p channel.Payload) (channel.Reply, error) {
	return channel.Reply{Status: "raw", Response: map[string]bool{"binary": p.IsBinary()}}, nil
}

func (r *typedRoom) quiet(ctx context.Context, ch *channel.Channel, in struct{}) (channel.NoReply, error) {
	_ = ch.Push("quiet", nil)
	return channel.NoReply{}, nil
}

var typedEvents = channel.Events[*typedRoom]{
	"say":    channel.On((*typedRoom).say),
	"age":    channel.On((*typedRoom).age),
	"fail":   channel.On((*typedRoom).fail),
	"broken": channel.On((*typedRoom).broken),
	"raw":    channel.On((*typedRoom).raw),
	"quiet":  channel.On((*typedRoom).quiet),
}

func (r *typedRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	return nil, nil
}

func (r *typedRoom) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	return typedEvents.Dispatch(r, ctx, ch, event, p)
}

// syncBuffer is a log destination safe for the channel's goroutines.
type syncBuffer = testutil.SyncBuffer

func typedClient(t *testing.T, logs *syncBuffer) *client {
	t.Helper()
	r := &channel.Router{}
	if err := r.Handle("typed:*", func() channel.Handler { return &typedRoom{} }); err != nil {
		t.Fatal(err)
	}
	s := newSocket(t, channel.Config{Router: r, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := connect(t, s, nil)
	c.send("1", "1", "typed:a", "phx_join", map[string]any{})
	c.expect(`["1","1","typed:a","phx_reply",{"response":{},"status":"ok"}]`)
	return c
}

func TestChannelTypedEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event string
		payload     any
		want        string // the reply's payload
	}{
		{"decoded and validated", "say", map[string]any{"body": "hi", "extra": 1}, `{"response":{"body":"hi","n":1},"status":"ok"}`},
		{"validation error is the client's", "say", map[string]any{"body": " "}, `{"response":{"reason":"a message is 1 to 10 characters"},"status":"error"}`},
		{"wrong field type", "say", map[string]any{"body": 3}, `{"response":{"reason":"invalid payload","detail":"field \"body\" must be a JSON string"},"status":"error"}`},
		{"not an object", "say", []int{1}, `{"response":{"reason":"invalid payload","detail":"the payload must be a JSON object"},"status":"error"}`},
		{"null for a pointer", "age", nil, `{"response":{"reason":"invalid payload","detail":"payload must not be null"},"status":"error"}`},
		{"pointer validator with ReplyError", "age", map[string]any{"Age": -1}, `{"response":{"field":"age"},"status":"invalid"}`},
		{"pointer input", "age", map[string]any{"Age": 7}, `{"response":{"age":7},"status":"ok"}`},
		{"Fail", "fail", map[string]any{}, `{"response":{"reason":"not today"},"status":"error"}`},
		{"plain error is hidden", "broken", map[string]any{}, `{"response":{"reason":"internal error"},"status":"error"}`},
		{"raw payload and Reply out", "raw", map[string]any{}, `{"response":{"binary":false},"status":"raw"}`},
		{"unknown event", "nope", map[string]any{}, `{"response":{"reason":"unknown event"},"status":"error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			c := typedClient(t, &logs)
			c.send("1", "2", "typed:a", tt.event, tt.payload)
			c.expect(`["1","2","typed:a","phx_reply",` + tt.want + `]`)
			if tt.event == "broken" {
				if l := logs.String(); !strings.Contains(l, "sql: database is closed") || !strings.Contains(l, "event=broken") || !strings.Contains(l, "topic=typed:a") {
					t.Errorf("log = %q, want the real error with topic and event", l)
				}
			}
		})
	}
}

func TestChannelTypedNoReplyAndState(t *testing.T) {
	t.Parallel()
	c := typedClient(t, &syncBuffer{})
	c.send("1", "2", "typed:a", "quiet", map[string]any{})
	c.expect(`["1",null,"typed:a","quiet",{}]`)
	c.expectNothing("typed:a")
	c.send("1", "3", "typed:a", "say", map[string]any{"body": "a"})
	c.expect(`["1","3","typed:a","phx_reply",{"response":{"body":"a","n":1},"status":"ok"}]`)
	c.send("1", "4", "typed:a", "say", map[string]any{"body": "b"})
	c.expect(`["1","4","typed:a","phx_reply",{"response":{"body":"b","n":2},"status":"ok"}]`)
}

func TestChannelTypedBinaryPayload(t *testing.T) {
	t.Parallel()
	c := typedClient(t, &syncBuffer{})
	for i, ev := range []string{"say", "raw"} {
		ref := string(rune('5' + i))
		f, err := wire.V2{}.EncodeClient(&wire.Message{JoinRef: "1", Ref: ref, Topic: "typed:a", Event: ev, Payload: []byte{1, 2}, Binary: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.sess.Receive(f); err != nil {
			t.Fatal(err)
		}
	}
	c.expect(`["1","5","typed:a","phx_reply",{"response":{"reason":"invalid payload","detail":"the payload must be JSON, not binary"},"status":"error"}]`)
	c.expect(`["1","6","typed:a","phx_reply",{"response":{"binary":true},"status":"raw"}]`)
}

type user struct{ name string }

func TestChannelAssignsAs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		assigns any
		want    string
	}{
		{"right type", &user{name: "ann"}, `{"response":{"user":"ann"},"status":"ok"}`},
		{"nil pointer", (*user)(nil), `{"response":{"reason":"no user"},"status":"error"}`},
		{"other type", "ann", `{"response":{"reason":"no user"},"status":"error"}`},
		{"nil", nil, `{"response":{"reason":"no user"},"status":"error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &channel.Router{}
			_ = r.Handle("me", func() channel.Handler { return whoami{} })
			s := newSocket(t, channel.Config{Router: r, Connect: func(context.Context, *channel.ConnectInfo) (any, error) { return tt.assigns, nil }})
			c := connect(t, s, nil)
			if _, ok := channel.SessionAssignsAs[*user](c.sess); ok != (tt.name == "right type") {
				t.Errorf("SessionAssignsAs ok = %v", ok)
			}
			c.send("1", "1", "me", "phx_join", map[string]any{})
			c.expect(`["1","1","me","phx_reply",` + tt.want + `]`)
		})
	}
}

type whoami struct{}

func (whoami) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	u, ok := channel.AssignsAs[*user](ch)
	if !ok {
		return nil, channel.Refuse("no user")
	}
	return map[string]string{"user": u.name}, nil
}

// FuzzChannelTypedEvent feeds arbitrary JSON payloads to typed events:
// every one is answered with an ok or error reply, never a crash.
func FuzzChannelTypedEvent(f *testing.F) {
	for _, s := range []string{`{"body":"hi"}`, `{"Age":-1}`, `null`, `[]`, `{"body":[1]}`, `"x"`, `{"body":"\ud800"}`, `{"Age":1e999}`} {
		f.Add(uint8(0), []byte(s))
		f.Add(uint8(1), []byte(s))
	}
	events := []string{"say", "age", "fail", "nope"}
	f.Fuzz(func(t *testing.T, ev uint8, payload []byte) {
		if !json.Valid(payload) {
			return
		}
		c := typedClient(t, &syncBuffer{})
		frame := `["1","2","typed:a","` + events[int(ev)%len(events)] + `",` + string(payload) + `]`
		if err := c.sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(frame)}); err != nil {
			return // the frame itself was refused, before any channel code
		}
		got, ok := c.read().([]any)
		if !ok || len(got) != 5 || got[3] != "phx_reply" {
			t.Fatalf("reply = %v", got)
		}
		status := got[4].(map[string]any)["status"]
		if status != "ok" && status != "error" && status != "invalid" {
			t.Fatalf("status = %v", status)
		}
	})
}
