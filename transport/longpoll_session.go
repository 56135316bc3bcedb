package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// errLPSessionGone is what a poll or a POST gets once its session has ended.
var errLPSessionGone = errors.New("transport: longpoll session gone")

// lpSession is one LongPoll connection: the channel.Conn of its
// channel.Session, holding the frames for the next poll. An idle session
// costs its buffer and one timer, no goroutine.
//
// Locks: mu and LongPoll.mu are never held together; recv is taken before
// mu (Receive sends replies, which take mu).
type lpSession struct {
	lp    *LongPoll
	id    string
	token string
	sess  *channel.Session

	recv sync.Mutex // one POST at a time feeds Session.Receive

	flow      lpFlow // longpoll_limits.go
	clientKey string // counted against MaxSessionsPerIP until end

	mu        sync.Mutex
	frames    [][]byte // text frames for the next poll, in order
	bytes     int      // sum of len(frames[i])
	waiter    *lpPoll  // the poll waiting for frames, or nil
	polls     int      // polls in progress
	idleSince time.Time
	expiry    *time.Timer
	closed    bool
	code      int   // close code given to Close, 0 otherwise (telemetry)
	born      int64 // unix nanoseconds of the handshake (telemetry)
}

// lpPoll is one waiting GET.
type lpPoll struct {
	wake       chan struct{} // capacity 1: frames, takeover or end
	superseded bool          // a newer poll took over; guarded by lpSession.mu
}

var _ channel.Conn = (*lpSession)(nil)

func newLPSession(lp *LongPoll, id, token string, sess *channel.Session) *lpSession {
	now := time.Now()
	return &lpSession{lp: lp, id: id, token: token, sess: sess, idleSince: now, born: now.UnixNano()}
}

// arm starts the inactivity timer once the session is registered.
func (s *lpSession) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && s.expiry == nil {
		s.idleSince = time.Now()
		s.expiry = time.AfterFunc(s.lp.cfg.SessionTimeout, s.expire)
	}
}

func lpSignal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Send implements channel.Conn: it buffers a text frame for the next poll
// and wakes the waiting one. A binary frame is dropped
// ([ErrLongPollBinary]). Over BufferLimit, the session ends.
func (s *lpSession) Send(f wire.Frame) error {
	if f.Opcode != wire.OpText {
		s.lp.log.Debug("longpoll drops a binary frame", "session", s.id, "bytes", len(f.Data))
		if h := s.lp.cfg.Hook; h != nil {
			h.Event(telemetry.Event{Kind: telemetry.KindDrop, Transport: nameLongPoll, Reason: "binary", N: 1})
		}
		return ErrLongPollBinary
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrConnClosed
	}
	if s.bytes+len(f.Data) > s.lp.cfg.BufferLimit {
		dropped := s.bytes
		s.mu.Unlock()
		emitSlowClient(s.lp.cfg.Hook, nameLongPoll, dropped)
		s.lp.log.Debug("longpoll buffer over its limit", "session", s.id, "limit", s.lp.cfg.BufferLimit)
		s.end("buffer over its limit: client too slow", true)
		return ErrConnClosed
	}
	s.frames = append(s.frames, f.Data) // read-only from here: broadcasts share it
	s.bytes += len(f.Data)
	if s.waiter != nil {
		lpSignal(s.waiter.wake)
	}
	s.mu.Unlock()
	return nil
}

// Close implements channel.Conn: the session ends and its waiting poll
// gets 410. It does not block; the channels terminate on another
// goroutine, since Close may be called from a broker's Deliver.
func (s *lpSession) Close(code int, reason string) {
	s.mu.Lock()
	if !s.closed {
		s.code = code
	}
	s.mu.Unlock()
	s.end(fmt.Sprintf("closed %d: %s", code, reason), true)
}

// end ends the session once: it drops the buffer, answers the waiting poll
// with 410, forgets the session and closes the channel.Session (on a new
// goroutine when async, for callers that must not block or re-enter the
// broker).
func (s *lpSession) end(reason string, async bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	code := s.code
	s.frames, s.bytes = nil, 0
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if s.waiter != nil {
		lpSignal(s.waiter.wake)
	}
	s.mu.Unlock()
	emitDisconnect(s.lp.cfg.Hook, nameLongPoll, code, s.born)
	logDisconnected(s.lp.log, s.sess, nameLongPoll, code, s.born)
	s.lp.log.Debug("longpoll session ended", "session", s.id, "reason", reason)
	s.lp.limits.release(s.clientKey)
	s.lp.forget(s)
	if async {
		go s.sess.Close()
	} else {
		s.sess.Close()
	}
}

// expire ends the session if no poll has been in progress for
// SessionTimeout, or re-arms the timer for the time left.
func (s *lpSession) expire() {
	s.mu.Lock()
	if s.closed || s.polls > 0 {
		s.mu.Unlock() // the poll re-arms the timer when it ends
		return
	}
	if left := s.lp.cfg.SessionTimeout - time.Since(s.idleSince); left > 0 {
		s.expiry.Reset(left)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.end("inactive", false)
}

// poll waits up to window for frames and takes all of them. It returns no
// frames on timeout or when a newer poll takes over, errLPSessionGone once
// the session has ended, and ctx's error when the client went away, in
// which case the frames stay buffered.
func (s *lpSession) poll(ctx context.Context, window time.Duration) ([][]byte, error) {
	p := &lpPoll{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errLPSessionGone
	}
	if prev := s.waiter; prev != nil {
		prev.superseded = true
		lpSignal(prev.wake)
	}
	s.waiter = p
	s.polls++
	s.mu.Unlock()
	defer s.donePolling(p)

	t := time.NewTimer(window)
	defer t.Stop()
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return nil, errLPSessionGone
		case p.superseded:
			s.mu.Unlock()
			return nil, nil
		case len(s.frames) > 0 && ctx.Err() == nil:
			frames := s.frames
			s.frames, s.bytes = nil, 0
			s.mu.Unlock()
			return frames, nil
		}
		s.mu.Unlock()
		select {
		case <-p.wake:
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// donePolling restarts the inactivity clock when the last poll ends.
func (s *lpSession) donePolling(p *lpPoll) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiter == p {
		s.waiter = nil
	}
	s.polls--
	if s.polls == 0 && !s.closed && s.expiry != nil {
		s.idleSince = time.Now()
		s.expiry.Reset(s.lp.cfg.SessionTimeout)
	}
}

// receive hands a POST body's frames to the session, in order. It stops at
// the first frame that does not decode and returns its error, or
// errLPSessionGone if the session ends on the way.
func (s *lpSession) receive(body []byte, ndjson bool, maxBatch int) error {
	s.recv.Lock()
	defer s.recv.Unlock()
	return lpSplitBody(body, ndjson, maxBatch, func(line int, f wire.Frame) error {
		if s.isClosed() {
			return errLPSessionGone
		}
		if err := s.sess.Receive(f); err != nil {
			if ndjson {
				return fmt.Errorf("line %d: %w", line, err)
			}
			return fmt.Errorf("body: %w", err)
		}
		return nil
	})
}

// requeue puts frames a poll took back in front of the buffer, when its
// answer could not be delivered (a forwarded poll whose reply was lost).
func (s *lpSession) requeue(frames [][]byte) {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.frames = append(frames[:len(frames):len(frames)], s.frames...)
	s.bytes += n
	if s.waiter != nil {
		lpSignal(s.waiter.wake)
	}
}

func (s *lpSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
