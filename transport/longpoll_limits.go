package transport

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/channel"
)

// DefaultLongPollBodyTimeout bounds reading one POST body (see
// [LongPollConfig].BodyTimeout).
const DefaultLongPollBodyTimeout = 10 * time.Second

var _ channel.ReadPauser = (*lpSession)(nil)

// lpFlow holds POSTs back while the session has too many of the client's
// messages waiting: LongPoll's form of backpressure. phoenix.js sends one
// POST at a time and batches what the app sends meanwhile.
type lpFlow struct {
	mu      sync.Mutex
	resumed chan struct{} // non-nil while paused; closed on resume
}

// PauseReading implements channel.ReadPauser.
func (s *lpSession) PauseReading() {
	s.flow.mu.Lock()
	if s.flow.resumed == nil {
		s.flow.resumed = make(chan struct{})
	}
	s.flow.mu.Unlock()
}

// ResumeReading implements channel.ReadPauser.
func (s *lpSession) ResumeReading() {
	s.flow.mu.Lock()
	if s.flow.resumed != nil {
		close(s.flow.resumed)
		s.flow.resumed = nil
	}
	s.flow.mu.Unlock()
}

// waitFlow waits up to d for the session to take messages again. It
// reports false if it did not, which the POST answers with 408, as
// Phoenix does when the session does not take a batch within its window.
func (s *lpSession) waitFlow(ctx context.Context, d time.Duration) bool {
	s.flow.mu.Lock()
	ch := s.flow.resumed
	s.flow.mu.Unlock()
	if ch == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// bodyDeadline bounds the reading of r's body: a client that feeds it a
// byte at a time is cut off. Call lift once the body is read: a deadline
// left in place would cancel a later request on the connection.
func bodyDeadline(w http.ResponseWriter, d time.Duration) (lift func()) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return func() {}
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}

// LimitHits returns how many times the endpoint's limits were hit.
func (lp *LongPoll) LimitHits() LimitHits { return lp.limits.hits() }
