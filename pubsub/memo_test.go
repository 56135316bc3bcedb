package pubsub_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

func TestMemoComputesOnce(t *testing.T) {
	t.Parallel()
	const callers = 64
	m := &pubsub.Message{Topic: "room:1", Event: "new_msg", Payload: []byte(`{}`)}
	var (
		computed atomic.Int64
		start    = make(chan struct{})
		wg       sync.WaitGroup
		results  [callers]any
	)
	encode := func(m *pubsub.Message) any {
		computed.Add(1)
		return fmt.Appendf(nil, `[null,null,%q,%q,%s]`, m.Topic, m.Event, m.Payload)
	}
	for i := range callers {
		wg.Go(func() {
			<-start
			results[i] = m.Memo(1, encode)
		})
	}
	close(start)
	wg.Wait()
	testutil.Equal(t, "compute calls", computed.Load(), int64(1))
	first := results[0].([]byte)
	testutil.Equal(t, "Memo(1, encode)", string(first), `[null,null,"room:1","new_msg",{}]`)
	for i, r := range results {
		// Every caller shares the one computed slice, not an equal copy.
		if b := r.([]byte); &b[0] != &first[0] {
			t.Fatalf("caller %d got a different slice", i)
		}
	}
	testutil.Equal(t, "compute calls after", computed.Load(), int64(1))
}

func TestMemoSlotsAreIndependent(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{Topic: "t"}
	tests := []struct {
		name string
		slot int
		want string
	}{
		{name: "first", slot: 0, want: "v0"},
		{name: "second", slot: 1, want: "v1"},
		{name: "last", slot: pubsub.MemoSlots - 1, want: "vlast"},
	}
	for _, tt := range tests {
		got := m.Memo(tt.slot, func(*pubsub.Message) any { return tt.want })
		testutil.Equal(t, tt.name, got, any(tt.want))
	}
	// Cached: a different compute function is ignored.
	for _, tt := range tests {
		got := m.Memo(tt.slot, func(*pubsub.Message) any { return "other" })
		testutil.Equal(t, tt.name+" again", got, any(tt.want))
	}
}

func TestMemoNestedSlots(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{Payload: []byte("x")}
	got := m.Memo(0, func(m *pubsub.Message) any {
		// Computing one slot may use another.
		inner := m.Memo(1, func(m *pubsub.Message) any { return string(m.Payload) + "1" })
		return inner.(string) + "0"
	})
	testutil.Equal(t, "Memo(0)", got, any("x10"))
	testutil.Equal(t, "Memo(1)", m.Memo(1, nil), any("x1"))
}

func TestMemoNilResultIsCached(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{}
	calls := 0
	for range 3 {
		m.Memo(2, func(*pubsub.Message) any { calls++; return nil })
	}
	testutil.Equal(t, "compute calls", calls, 1)
}

func TestMemoPanicLeavesSlotEmpty(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{}
	func() {
		defer func() {
			testutil.Equal(t, "recovered", recover(), any("boom"))
		}()
		m.Memo(0, func(*pubsub.Message) any { panic("boom") })
	}()
	got := m.Memo(0, func(*pubsub.Message) any { return 42 })
	testutil.Equal(t, "Memo after panic", got, any(42))
}

func TestMemoSlotOutOfRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		slot int
	}{
		{name: "negative", slot: -1},
		{name: "MemoSlots", slot: pubsub.MemoSlots},
		{name: "large", slot: 1 << 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "out of range") || !strings.Contains(msg, fmt.Sprint(tt.slot)) {
					t.Fatalf("Memo(%d) panic = %q, want an out of range message naming the slot", tt.slot, msg)
				}
			}()
			(&pubsub.Message{}).Memo(tt.slot, func(*pubsub.Message) any { return nil })
		})
	}
}
