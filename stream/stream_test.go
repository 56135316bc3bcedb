package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
)

func newMemory(t *testing.T, cfg stream.MemoryConfig) *stream.Memory {
	t.Helper()
	if cfg.Broker == nil {
		cfg.Broker = pubsub.NewMemory(pubsub.MemoryConfig{})
	}
	s, err := stream.NewMemory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func publish(t *testing.T, s stream.Store, topic string, n int, size int) stream.Position {
	t.Helper()
	var pos stream.Position
	for i := 0; i < n; i++ {
		p, err := s.Publish(context.Background(), &pubsub.Message{Topic: topic, Event: "e", Payload: make([]byte, size)}, stream.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		pos = p
	}
	return pos
}

func TestStreamMemoryOffsetsAndDelivery(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	s := newMemory(t, stream.MemoryConfig{Broker: b})
	var got []uint64
	sub := &recorder{f: func(m *pubsub.Message) { got = append(got, m.Offset) }}
	if err := b.Subscribe(context.Background(), "s:1", sub); err != nil {
		t.Fatal(err)
	}
	pos := publish(t, s, "s:1", 3, 1)
	publish(t, s, "s:2", 1, 1)
	if pos.Offset != 3 || fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("publish ×3 = %+v, delivered %v; want offset 3, delivered [1 2 3]", pos, got)
	}
	p2, _ := s.Position(context.Background(), "s:2")
	if p2.Offset != 1 || p2.Epoch != pos.Epoch {
		t.Fatalf("Position(s:2) = %+v, want offset 1 in epoch %s", p2, pos.Epoch)
	}
	empty, _ := s.Position(context.Background(), "s:none")
	publish(t, s, "s:none", 1, 1)
	rec, _ := s.Recover(context.Background(), "s:none", empty, stream.Limits{})
	if !rec.Recovered || len(rec.Messages) != 1 {
		t.Fatalf("Recover from the position of an empty topic = %+v, want its first message", rec)
	}
}

type recorder struct{ f func(m *pubsub.Message) }

func (r *recorder) Deliver(m *pubsub.Message) { r.f(m) }

// TestStreamMemoryMaxBytes: the store stays within MaxBytes by dropping the
// least recently published topics, which get a new epoch.
func TestStreamMemoryMaxBytes(t *testing.T) {
	t.Parallel()
	const maxBytes = 100 << 10
	s := newMemory(t, stream.MemoryConfig{MaxBytes: maxBytes})
	old := publish(t, s, "s:old", 10, 1000)
	for i := range 200 {
		publish(t, s, fmt.Sprintf("s:%d", i), 10, 1000)
		if st := s.Stats(); st.Bytes > maxBytes {
			t.Fatalf("after %d topics, Stats() = %+v, want Bytes ≤ %d", i, st, maxBytes)
		}
	}
	st := s.Stats()
	if st.Evicted == 0 || st.Topics >= 200 {
		t.Fatalf("Stats() = %+v, want evictions", st)
	}
	rec, err := s.Recover(context.Background(), "s:old", stream.Position{Epoch: old.Epoch, Offset: 5}, stream.Limits{})
	if err != nil || rec.Recovered || rec.Position.Epoch == old.Epoch || rec.Position.Offset != 0 {
		t.Fatalf("Recover(evicted topic) = %+v, %v; want a new epoch at 0, not recovered", rec, err)
	}
	last, _ := s.Position(context.Background(), "s:199")
	rec, _ = s.Recover(context.Background(), "s:199", stream.Position{Epoch: last.Epoch, Offset: 0}, stream.Limits{})
	if !rec.Recovered || len(rec.Messages) != 10 {
		t.Fatalf("Recover(recent topic) = %+v, want its 10 messages", rec)
	}
}

func TestStreamMemoryMaxTopics(t *testing.T) {
	t.Parallel()
	s := newMemory(t, stream.MemoryConfig{MaxTopics: 10})
	for i := range 50 {
		publish(t, s, fmt.Sprintf("s:%d", i), 1, 1)
	}
	if st := s.Stats(); st.Topics != 10 || st.Evicted != 40 {
		t.Fatalf("Stats() = %+v, want 10 topics, 40 evicted", st)
	}
}

func TestStreamMemorySizePerTopic(t *testing.T) {
	t.Parallel()
	s := newMemory(t, stream.MemoryConfig{})
	lim := stream.Limits{Size: 5}
	var pos stream.Position
	for range 12 {
		pos, _ = s.Publish(context.Background(), &pubsub.Message{Topic: "s", Event: "e"}, lim)
	}
	for since, want := range map[uint64]bool{6: false, 7: true, 12: true, 13: false} {
		rec, _ := s.Recover(context.Background(), "s", stream.Position{Epoch: pos.Epoch, Offset: since}, lim)
		if rec.Recovered != want || want && len(rec.Messages) != int(12-since) {
			t.Errorf("Recover(from %d) = %v with %d messages, want %v", since, rec.Recovered, len(rec.Messages), want)
		}
	}
	st := s.Stats()
	if st.Bytes != 5*int64(2*(1+1)+stream.MessageOverhead) {
		t.Errorf("Stats().Bytes = %d, want 5 messages", st.Bytes)
	}
}

func TestStreamParseJoin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     stream.Position
		ok       bool
		err      bool
	}{
		{name: "empty", in: ``},
		{name: "object", in: `{}`},
		{name: "other keys", in: `{"token":"x"}`},
		{name: "not an object", in: `[1]`},
		{name: "number", in: `{"epoch":"e","offset":42}`, want: stream.Position{"e", 42}, ok: true},
		{name: "string", in: `{"epoch":"e","offset":"42"}`, want: stream.Position{"e", 42}, ok: true},
		{name: "zero", in: `{"epoch":"e","offset":0,"x":1}`, want: stream.Position{"e", 0}, ok: true},
		{name: "max", in: `{"epoch":"e","offset":18446744073709551615}`, want: stream.Position{"e", 1<<64 - 1}, ok: true},
		{name: "too big", in: `{"epoch":"e","offset":18446744073709551616}`, err: true},
		{name: "negative", in: `{"epoch":"e","offset":-1}`, err: true},
		{name: "float", in: `{"epoch":"e","offset":1.0}`, err: true},
		{name: "exponent", in: `{"epoch":"e","offset":1e3}`, err: true},
		{name: "leading zero", in: `{"epoch":"e","offset":"01"}`, err: true},
		{name: "plus", in: `{"epoch":"e","offset":"+1"}`, err: true},
		{name: "null offset", in: `{"epoch":"e","offset":null}`, err: true},
		{name: "epoch number", in: `{"epoch":1,"offset":1}`, err: true},
		{name: "epoch empty", in: `{"epoch":"","offset":1}`, err: true},
		{name: "epoch long", in: `{"epoch":"` + strings.Repeat("x", 65) + `","offset":1}`, err: true},
		{name: "only epoch", in: `{"epoch":"e"}`, err: true},
		{name: "only offset", in: `{"offset":1}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok, err := stream.ParseJoin([]byte(tt.in))
			if (err != nil) != tt.err || ok != tt.ok || got != tt.want {
				t.Fatalf("ParseJoin(%s) = %+v, %v, %v; want %+v, %v, error %v", tt.in, got, ok, err, tt.want, tt.ok, tt.err)
			}
			if err != nil && !errors.Is(err, stream.ErrBadPosition) {
				t.Fatalf("ParseJoin(%s) error %v does not wrap ErrBadPosition", tt.in, err)
			}
		})
	}
}

func FuzzStreamParseJoin(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"epoch":"e","offset":42}`, `{"epoch":"e","offset":"7"}`, `{"offset":1}`, `[]`, `{"epoch":"\u00e9","offset":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pos, ok, err := stream.ParseJoin(data)
		if err != nil && (ok || !errors.Is(err, stream.ErrBadPosition)) {
			t.Fatalf("ParseJoin(%q) = %+v, %v, %v", data, pos, ok, err)
		}
		if !ok {
			return
		}
		if pos.Epoch == "" || len(pos.Epoch) > stream.MaxEpochLen {
			t.Fatalf("ParseJoin(%q) accepted epoch %q", data, pos.Epoch)
		}
		again, ok2, err2 := stream.ParseJoin(fmt.Appendf(nil, `{"epoch":%q,"offset":%d}`, pos.Epoch, pos.Offset))
		if err2 != nil || !ok2 || again != pos {
			t.Fatalf("ParseJoin of %+v's own encoding = %+v, %v, %v", pos, again, ok2, err2)
		}
	})
}
