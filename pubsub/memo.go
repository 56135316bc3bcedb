package pubsub

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// MemoSlots is the number of values [Message.Memo] can cache per message.
// Slots are assigned by convention among the callers, typically one per
// serializer (the V2 frame, the V1 frame, …).
const MemoSlots = 4

// memoSlot caches one value derived from a Message. done is set, after v is
// written, by the one goroutine that computed v; the fast path is a single
// atomic load. mu serialises the computation so that concurrent callers wait
// for the first one instead of computing again.
type memoSlot struct {
	done atomic.Bool
	mu   sync.Mutex
	v    any
}

// Memo returns the value cached in slot, computing it with compute on first
// use. It is how a broadcast is encoded once per serializer rather than once
// per subscriber (docs/protocol.md §7.6): each subscriber calls Memo with the slot
// of its serializer and writes the shared result.
//
// Memo is safe for concurrent use. For each slot, exactly one call runs
// compute; concurrent callers of the same slot wait for it and return its
// result, and later callers return the cached value after one atomic load.
// Slots are independent: computing one slot does not wait for another.
//
// The first compute function wins: a slot must always be used with the same
// function, or with functions that give the same result. The result is shared
// by every caller, so it must be treated as read-only.
//
// If compute panics, the panic propagates to its caller and the slot stays
// empty, so the next call computes again. compute must not call Memo with the
// same slot on the same message (it would deadlock); other slots are fine.
//
// The cache lives in the Message, so a Message must not be copied (go vet's
// copylocks check reports copies) nor modified once broadcast: build a new
// one instead.
//
// Memo panics if slot is not in [0, MemoSlots).
func (m *Message) Memo(slot int, compute func(*Message) any) any {
	if uint(slot) >= MemoSlots {
		panicMemoSlot(slot)
	}
	s := &m.memo[slot]
	if s.done.Load() {
		return s.v
	}
	return s.compute(m, compute)
}

// compute is Memo's slow path, kept apart so that Memo inlines.
func (s *memoSlot) compute(m *Message, compute func(*Message) any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done.Load() {
		s.v = compute(m)
		s.done.Store(true)
	}
	return s.v
}

func panicMemoSlot(slot int) {
	panic(fmt.Sprintf("pubsub: Memo slot %d out of range [0, %d)", slot, MemoSlots))
}
