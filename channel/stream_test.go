package channel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
)

// streamHandler is a stream channel that publishes new_msg and replies
// with its offset, as the conformance app's stream:*.
type streamHandler struct{ resp any }

func (h streamHandler) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return h.resp, nil
}

func (streamHandler) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	pos, err := ch.Publish(ctx, "new_msg", p)
	if err != nil {
		return channel.Reply{Status: "error", Response: channel.Reason(err.Error())}
	}
	return channel.Reply{Status: "ok", Response: map[string]uint64{"offset": pos.Offset}}
}

type streamJoinReply struct {
	Epoch     string `json:"epoch"`
	Offset    uint64 `json:"offset"`
	Recovered *bool  `json:"recovered"`
	Extra     string `json:"extra"`
}

func newStreamHarness(t *testing.T, lim stream.Limits, cfg channel.Config) *channeltest.Harness {
	t.Helper()
	r := &channel.Router{}
	if err := r.HandleStream("stream:*", func() channel.Handler { return streamHandler{} }, lim); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle("plain:*", func() channel.Handler { return streamHandler{} }); err != nil {
		t.Fatal(err)
	}
	cfg.Router = r
	return channeltest.New(t, cfg)
}

func joinStream(t *testing.T, c *channeltest.Client, topic string, params any) streamJoinReply {
	t.Helper()
	var r streamJoinReply
	if err := c.MustJoin(topic, params).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func publishN(t *testing.T, h *channeltest.Harness, topic string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := h.Socket().Broadcast(context.Background(), topic, "new_msg", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
}

// streamOffsets returns the offsets (refs) of the new_msg pushes c got on
// topic, checking that each payload's n is its offset.
func streamOffsets(t *testing.T, c *channeltest.Client, topic string) []uint64 {
	t.Helper()
	var got []uint64
	for _, m := range c.Received() {
		if m.Topic != topic || m.Event != "new_msg" {
			continue
		}
		off, err := strconv.ParseUint(m.Ref, 10, 64)
		if err != nil {
			t.Fatalf("new_msg ref = %q, want an offset", m.Ref)
		}
		var p struct{ N uint64 }
		if err := json.Unmarshal(m.Payload, &p); err != nil || p.N != off {
			t.Fatalf("new_msg ref %s carries %s", m.Ref, m.Payload)
		}
		got = append(got, off)
	}
	return got
}

// waitOffsets waits until c has the offsets from..to on topic, and fails
// unless it has exactly those, in order.
func waitOffsets(t *testing.T, c *channeltest.Client, topic string, from, to uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := streamOffsets(t, c, topic)
		if len(got) > 0 && got[len(got)-1] >= to || time.Now().After(deadline) {
			want := make([]uint64, 0, to-from+1)
			for o := from; o <= to; o++ {
				want = append(want, o)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("offsets on %s = %v, want %d…%d once each, in order", topic, got, from, to)
			}
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStreamJoinAndOffsets(t *testing.T) {
	t.Parallel()
	h := newStreamHarness(t, stream.Limits{}, channel.Config{})
	c := h.Connect(nil)
	r := joinStream(t, c, "stream:a", map[string]any{})
	if r.Epoch == "" || r.Offset != 0 || r.Recovered != nil {
		t.Fatalf("join {} = %+v, want an epoch, offset 0, no recovered", r)
	}
	ref := c.Push("stream:a", "new_msg", map[string]int{"n": 1})
	c.AssertReply(ref, "ok", map[string]int{"offset": 1})
	publishN(t, h, "stream:a", 2, 3)
	waitOffsets(t, c, "stream:a", 1, 3)

	// A plain topic keeps ref null.
	c.MustJoin("plain:a", nil)
	if err := h.Socket().Broadcast(context.Background(), "plain:a", "new_msg", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if m := c.AssertPush("plain:a", "new_msg", nil); m.Ref != "" {
		t.Fatalf("plain broadcast ref = %q, want null", m.Ref)
	}

	again := h.Connect(nil)
	r2 := joinStream(t, again, "stream:a", nil)
	if r2.Epoch != r.Epoch || r2.Offset != 3 {
		t.Fatalf("second join = %+v, want epoch %s offset 3", r2, r.Epoch)
	}
}

// TestStreamRecoverWhileBroadcasting races the recovering join against a
// stream of broadcasts: every client must get every message after its
// offset exactly once, in order.
func TestStreamRecoverWhileBroadcasting(t *testing.T) {
	t.Parallel()
	h := newStreamHarness(t, stream.Limits{Size: 1000}, channel.Config{})
	const before, during = 50, 300
	publishN(t, h, "stream:race", 1, before)
	pos, err := h.Socket().Streams().Position(context.Background(), "stream:race")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { publishN(t, h, "stream:race", before+1, before+during) })
	clients := make([]*channeltest.Client, 20)
	for i := range clients {
		clients[i] = h.Connect(nil)
		r := joinStream(t, clients[i], "stream:race", map[string]any{"epoch": pos.Epoch, "offset": strconv.Itoa(i)})
		if r.Recovered == nil || !*r.Recovered {
			t.Fatalf("recovering join = %+v, want recovered", r)
		}
	}
	wg.Wait()
	for i, c := range clients {
		waitOffsets(t, c, "stream:race", uint64(i+1), before+during)
	}
}

func TestStreamOverflowNotRecovered(t *testing.T) {
	t.Parallel()
	h := newStreamHarness(t, stream.Limits{Size: 10}, channel.Config{})
	c := h.Connect(nil)
	r := joinStream(t, c, "stream:o", nil)
	publishN(t, h, "stream:o", 1, 30)
	waitOffsets(t, c, "stream:o", 1, 30)

	for _, tt := range []struct {
		name      string
		offset    int
		epoch     string
		recovered bool
	}{
		{"within history", 20, r.Epoch, true},
		{"oldest kept", 20, r.Epoch, true},
		{"just before the history", 19, r.Epoch, false},
		{"overflowed", 5, r.Epoch, false},
		{"ahead", 31, r.Epoch, false},
		{"other epoch", 25, "x" + r.Epoch, false},
		{"up to date", 30, r.Epoch, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := h.Connect(nil)
			got := joinStream(t, c, "stream:o", map[string]any{"epoch": tt.epoch, "offset": tt.offset})
			if got.Recovered == nil || *got.Recovered != tt.recovered || got.Offset != 30 || got.Epoch != r.Epoch {
				t.Fatalf("join at %s/%d = %+v, want recovered %v at %s/30", tt.epoch, tt.offset, got, tt.recovered, r.Epoch)
			}
			publishN(t, h, "stream:other", 1, 1) // a frame to wait on
			if tt.recovered {
				if tt.offset < 30 {
					waitOffsets(t, c, "stream:o", uint64(tt.offset+1), 30)
				}
			} else {
				c.RefutePush("stream:o", "new_msg", 20*time.Millisecond)
			}
		})
	}
}

func TestStreamTTL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newStreamHarness(t, stream.Limits{TTL: time.Minute}, channel.Config{})
		ctx := context.Background()
		publishN(t, h, "stream:ttl", 1, 3)
		pos, _ := h.Socket().Streams().Position(ctx, "stream:ttl")
		time.Sleep(30 * time.Second)
		publishN(t, h, "stream:ttl", 4, 4)
		lim, _ := h.Socket().Router().Stream("stream:ttl")
		rec, err := h.Socket().Streams().Recover(ctx, "stream:ttl", stream.Position{Epoch: pos.Epoch, Offset: 1}, lim)
		if err != nil || !rec.Recovered || len(rec.Messages) != 3 {
			t.Fatalf("Recover after 30s = %+v, %v, want 2…4", rec, err)
		}
		time.Sleep(31 * time.Second) // 1…3 are now older than the TTL
		rec, err = h.Socket().Streams().Recover(ctx, "stream:ttl", stream.Position{Epoch: pos.Epoch, Offset: 1}, lim)
		if err != nil || rec.Recovered {
			t.Fatalf("Recover from 1 after 61s = %+v, %v, want not recovered", rec, err)
		}
		rec, err = h.Socket().Streams().Recover(ctx, "stream:ttl", stream.Position{Epoch: pos.Epoch, Offset: 3}, lim)
		if err != nil || !rec.Recovered || len(rec.Messages) != 1 || rec.Messages[0].Offset != 4 {
			t.Fatalf("Recover from 3 after 61s = %+v, %v, want 4", rec, err)
		}
	})
}

// TestStreamEpochChangesOnRestart: a new process (a new memory store) has
// another epoch, so an old position is not recovered, even at an offset
// the new process has reached.
func TestStreamEpochChangesOnRestart(t *testing.T) {
	t.Parallel()
	h1 := newStreamHarness(t, stream.Limits{}, channel.Config{})
	publishN(t, h1, "stream:r", 1, 5)
	c := h1.Connect(nil)
	r1 := joinStream(t, c, "stream:r", nil)

	h2 := newStreamHarness(t, stream.Limits{}, channel.Config{}) // "restarted"
	publishN(t, h2, "stream:r", 1, 7)
	c2 := h2.Connect(nil)
	r2 := joinStream(t, c2, "stream:r", map[string]any{"epoch": r1.Epoch, "offset": r1.Offset})
	if r2.Recovered == nil || *r2.Recovered || r2.Epoch == r1.Epoch || r2.Offset != 7 {
		t.Fatalf("join at the old position %+v after a restart = %+v, want a new epoch, offset 7, not recovered", r1, r2)
	}
	c2.RefutePush("stream:r", "new_msg", 20*time.Millisecond)
}

func TestStreamJoinBadParams(t *testing.T) {
	t.Parallel()
	h := newStreamHarness(t, stream.Limits{}, channel.Config{})
	c := h.Connect(nil)
	for _, p := range []any{
		map[string]any{"epoch": "e"},
		map[string]any{"epoch": 1, "offset": 1},
		map[string]any{"epoch": "e", "offset": -1},
		map[string]any{"epoch": "e", "offset": 1.5},
		map[string]any{"epoch": "e", "offset": "01"},
	} {
		if r := c.Join("stream:bad", p); r.Status != "error" {
			t.Errorf("join with %v = %s %s, want an error", p, r.Status, r.Response)
		}
	}
}

func TestStreamJoinResponseMerged(t *testing.T) {
	t.Parallel()
	r := &channel.Router{}
	_ = r.HandleStream("s:*", func() channel.Handler { return streamHandler{resp: map[string]string{"extra": "x"}} }, stream.Limits{})
	_ = r.HandleStream("bad:*", func() channel.Handler { return streamHandler{resp: []int{1}} }, stream.Limits{})
	h := channeltest.New(t, channel.Config{Router: r})
	c := h.Connect(nil)
	got := joinStream(t, c, "s:1", nil)
	if got.Extra != "x" || got.Epoch == "" {
		t.Fatalf("join = %+v, want the handler's extra and an epoch", got)
	}
	if rep := c.Join("bad:1", nil); rep.Status != "error" {
		t.Fatalf("join with an array response = %s %s, want an error", rep.Status, rep.Response)
	}
}

func TestStreamPublishPlainRefused(t *testing.T) {
	t.Parallel()
	h := newStreamHarness(t, stream.Limits{}, channel.Config{})
	if _, err := h.Socket().Publish(context.Background(), "plain:x", "e", nil); !errors.Is(err, stream.ErrNotStream) {
		t.Fatalf("Publish on a plain topic = %v, want ErrNotStream", err)
	}
}

// TestStreamLiveOrder: live messages that arrive late (already replayed)
// are dropped; a hole, or another epoch, ends the channel with phx_error,
// so that phoenix.js rejoins from its last offset and recovers (or learns
// that it cannot).
func TestStreamLiveOrder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		offset uint64
		epoch  string // "" for the channel's
		breaks bool
	}{
		{"late duplicate", 1, "", false},
		{"hole", 3, "", true},
		{"new epoch", 2, "other", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newStreamHarness(t, stream.Limits{}, channel.Config{})
			c := h.Connect(nil)
			r := joinStream(t, c, "stream:h", nil)
			publishN(t, h, "stream:h", 1, 1)
			waitOffsets(t, c, "stream:h", 1, 1)
			epoch := tt.epoch
			if epoch == "" {
				epoch = r.Epoch
			}
			m := &pubsub.Message{Topic: "stream:h", Event: "new_msg", Payload: fmt.Appendf(nil, `{"n":%d}`, tt.offset), Offset: tt.offset, Epoch: epoch}
			if err := h.Broker().LocalBroadcast(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if tt.breaks {
				c.AssertPush("stream:h", "phx_error", nil)
				if got := streamOffsets(t, c, "stream:h"); fmt.Sprint(got) != "[1]" {
					t.Fatalf("offsets = %v, want [1]: nothing after a break", got)
				}
				return
			}
			publishN(t, h, "stream:h", 2, 2)
			waitOffsets(t, c, "stream:h", 1, 2)
			c.RefutePush("stream:h", "phx_error", 10*time.Millisecond)
		})
	}
}

// gatedStore holds Recover until gate is closed, so that a test can
// broadcast while a joining channel is subscribed but not yet live.
type gatedStore struct {
	stream.Store
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Recover(ctx context.Context, topic string, since stream.Position, lim stream.Limits) (stream.Recovery, error) {
	close(g.entered)
	<-g.gate
	return g.Store.Recover(ctx, topic, since, lim)
}

// TestStreamJoinBufferBounded: what a joining stream channel buffers while
// it reads the history is bounded (4,096 messages). Beyond it the channel
// gives up with phx_error after its replay, and the client rejoins.
func TestStreamJoinBufferBounded(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	mem, err := stream.NewMemory(stream.MemoryConfig{Broker: broker})
	if err != nil {
		t.Fatal(err)
	}
	store := &gatedStore{Store: mem, entered: make(chan struct{}), gate: make(chan struct{})}
	r := &channel.Router{}
	_ = r.HandleStream("stream:*", func() channel.Handler { return streamHandler{} }, stream.Limits{Size: 10_000})
	h := channeltest.New(t, channel.Config{Router: r, Broker: broker, Streams: store})
	h.SetTimeout(10 * time.Second)
	pos, _ := mem.Position(context.Background(), "stream:b")
	c := h.Connect(nil)
	replied := make(chan channeltest.Reply, 1)
	go func() { replied <- c.Join("stream:b", map[string]any{"epoch": pos.Epoch, "offset": 0}) }()
	<-store.entered // subscribed, reading the history
	const n = 4200
	publishN(t, h, "stream:b", 1, n)
	close(store.gate)
	if rep := <-replied; rep.Status != "ok" {
		t.Fatalf("join = %s %s, want ok", rep.Status, rep.Response)
	}
	c.AssertPush("stream:b", "phx_error", nil)
	waitOffsets(t, c, "stream:b", 1, n) // the replay: each once, in order
}
