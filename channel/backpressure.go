package channel

import (
	"sync"
	"sync/atomic"

	"github.com/suzaku-go/suzaku/wire"
)

// ReadPauser is implemented by a [Conn] that can stop reading from its
// client. A session calls PauseReading from [Session.Receive] when the
// client's messages waiting in its channels go over
// [Limits].MaxQueuedBytes (or one channel's over MaxChannelQueue), and
// ResumeReading, from a channel's goroutine, once they are back under
// half of it. Both must not block; they are called in turn, never twice in
// a row, and may be called after the connection closed.
type ReadPauser interface {
	PauseReading()
	ResumeReading()
}

// msgCost is what a queued client message counts for: its bytes, plus a
// fixed overhead so that a flood of empty messages is bounded too.
func msgCost(m *wire.Message) int64 {
	return int64(len(m.Payload)+len(m.Topic)+len(m.Event)+len(m.Ref)+len(m.JoinRef)) + 128
}

// flow is a session's inbound backpressure state.
type flow struct {
	queued atomic.Int64 // bytes of client messages in mailboxes and the join queue
	overs  atomic.Int32 // channels over MaxChannelQueue
	paused atomic.Bool  // the transport was told to stop reading
	mu     sync.Mutex   // orders PauseReading and ResumeReading
}

// Queued returns the bytes of client messages the session has waiting in
// its channels' mailboxes and its join queue.
func (s *Session) Queued() int64 { return s.flow.queued.Load() }

// queuedIn counts n more bytes waiting.
func (s *Session) queuedIn(n int64) { s.flow.queued.Add(n) }

// queuedOut counts n bytes handled, and resumes reading once the session
// is back under half its bounds.
func (s *Session) queuedOut(n int64) {
	s.flow.queued.Add(-n)
	if s.flow.paused.Load() {
		s.maybeResume()
	}
}

// overLimit reports whether reading should stop.
func (s *Session) overLimit() bool {
	max := s.sock.limits.MaxQueuedBytes
	return s.flow.overs.Load() > 0 || (max > 0 && s.flow.queued.Load() > int64(max))
}

// maybePause runs on the reader after each message.
func (s *Session) maybePause() {
	if s.flow.paused.Load() || !s.overLimit() {
		return
	}
	p, ok := s.conn.(ReadPauser)
	if !ok {
		return
	}
	s.flow.mu.Lock()
	defer s.flow.mu.Unlock()
	if s.flow.paused.Load() || !s.overLimit() {
		return
	}
	s.flow.paused.Store(true)
	s.sock.hit(&s.sock.counters.paused, "queued bytes", s)
	p.PauseReading()
}

func (s *Session) maybeResume() {
	max := int64(s.sock.limits.MaxQueuedBytes)
	if s.flow.overs.Load() > 0 || (max > 0 && s.flow.queued.Load() > max/2) {
		return
	}
	s.flow.mu.Lock()
	defer s.flow.mu.Unlock()
	if !s.flow.paused.Load() || s.flow.overs.Load() > 0 || (max > 0 && s.flow.queued.Load() > max/2) {
		return
	}
	s.flow.paused.Store(false)
	s.conn.(ReadPauser).ResumeReading()
}

// Paused reports whether the session has told its transport to stop
// reading.
func (s *Session) Paused() bool { return s.flow.paused.Load() }
