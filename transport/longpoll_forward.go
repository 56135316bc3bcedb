package transport

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Forwarding LongPoll requests between nodes (see "Several nodes" on
// [LongPoll]): a node that gets a request for a session another node
// holds sends it to that node over the broker and waits for its answer.
const (
	// lpFwdAckTimeout is how long the owner has to acknowledge a
	// forwarded request before the sender takes it for dead.
	lpFwdAckTimeout = 2 * time.Second
	// lpFwdMargin is added to Window for the owner's final answer.
	lpFwdMargin = 5 * time.Second
	// lpFwdSendTimeout bounds one message to another node.
	lpFwdSendTimeout = 5 * time.Second
)

// lpForwarder forwards this node's requests for other nodes' sessions,
// and serves the requests other nodes forward here.
//
// Locks: mu is taken alone, never with LongPoll.mu or a session's.
type lpForwarder struct {
	lp     *LongPoll
	broker pubsub.Broker
	node   string
	sub    *lpFwdSubscriber
	nextID atomic.Uint64
	once   sync.Once
	work   sync.WaitGroup // serve goroutines

	mu        sync.Mutex
	pending   map[uint64]chan lpFwdReply         // forwarded from here
	served    map[lpServedKey]context.CancelFunc // served here for others
	closed    bool
	started   bool
	overflow  atomic.Uint64 // requests refused or dropped over MaxForwarded
	forwarded atomic.Uint64
	servedN   atomic.Uint64
}

type lpServedKey struct {
	from string
	id   uint64
}

// lpFwdSubscriber receives the forwarding messages for this node.
type lpFwdSubscriber struct{ f *lpForwarder }

func newLPForwarder(lp *LongPoll, broker pubsub.Broker) *lpForwarder {
	f := &lpForwarder{
		lp:      lp,
		broker:  broker,
		node:    lp.node,
		pending: map[uint64]chan lpFwdReply{},
		served:  map[lpServedKey]context.CancelFunc{},
	}
	f.sub = &lpFwdSubscriber{f}
	return f
}

// start subscribes to the forwarding topic, once, at the first request:
// a node is reachable before it creates its first session.
func (f *lpForwarder) start() {
	f.once.Do(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.closed {
			return
		}
		if err := f.broker.Subscribe(context.Background(), lpFwdTopic, f.sub); err != nil {
			f.lp.log.Error("longpoll: cannot receive forwarded requests", "err", err)
			return
		}
		f.started = true
	})
}

// close stops forwarding: waiting forwarded requests get "gone", served
// ones are cancelled, and the subscription ends. It waits for the served
// requests' goroutines until ctx is done.
func (f *lpForwarder) close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	started := f.started
	for id, ch := range f.pending {
		lpFwdOffer(ch, lpFwdReply{kind: lpFwdGone, id: id})
	}
	for _, cancel := range f.served {
		cancel()
	}
	f.mu.Unlock()
	if started {
		_ = f.broker.Unsubscribe(context.WithoutCancel(ctx), lpFwdTopic, f.sub)
	}
	done := make(chan struct{})
	go func() { f.work.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func lpFwdOffer(ch chan lpFwdReply, p lpFwdReply) {
	select {
	case ch <- p:
	default: // the waiter has what it needs
	}
}

// Deliver implements pubsub.Subscriber. It never blocks: requests are
// served on goroutines of their own, bounded by MaxForwarded.
func (s *lpFwdSubscriber) Deliver(m *pubsub.Message) {
	f := s.f
	switch m.Event {
	case lpFwdEventReply:
		p, err := decodeLPFwdReply(m.Payload)
		if err != nil {
			f.lp.log.Debug("longpoll: dropped a forwarding reply", "err", err)
			return
		}
		f.mu.Lock()
		if ch := f.pending[p.id]; ch != nil {
			lpFwdOffer(ch, p)
		}
		f.mu.Unlock()
	case lpFwdEventRequest:
		q, err := decodeLPFwdRequest(m.Payload)
		if err != nil {
			f.lp.log.Debug("longpoll: dropped a forwarded request", "err", err)
			return
		}
		key := lpServedKey{q.from, q.id}
		f.mu.Lock()
		defer f.mu.Unlock()
		if q.kind == lpFwdCancel {
			if cancel := f.served[key]; cancel != nil {
				cancel()
			}
			return
		}
		if f.closed || len(f.served) >= f.lp.cfg.MaxForwarded {
			f.overflow.Add(1)
			return // the sender answers as for a session that is gone
		}
		if _, dup := f.served[key]; dup {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.lp.cfg.Window+lpFwdMargin)
		f.served[key] = cancel
		f.servedN.Add(1)
		f.work.Add(1)
		go f.serve(ctx, key, q)
	}
}

// serve answers a request another node forwarded.
func (f *lpForwarder) serve(ctx context.Context, key lpServedKey, q lpFwdRequest) {
	defer f.work.Done()
	defer func() {
		f.mu.Lock()
		cancel := f.served[key]
		delete(f.served, key)
		f.mu.Unlock()
		cancel()
	}()
	lp := f.lp
	lp.mu.Lock()
	s := lp.sessions[q.session]
	lp.mu.Unlock()
	if s == nil {
		f.reply(q, lpFwdReply{kind: lpFwdGone})
		return
	}
	if f.reply(q, lpFwdReply{kind: lpFwdAck}) != nil {
		return // the sender cannot hear us: leave the session as it is
	}
	switch q.kind {
	case lpFwdPoll:
		frames, err := s.poll(ctx, lp.cfg.Window)
		switch {
		case err == errLPSessionGone:
			f.reply(q, lpFwdReply{kind: lpFwdGone})
		case err != nil: // cancelled: the sender's client went away
		case len(frames) == 0:
			f.reply(q, lpFwdReply{kind: lpFwdMessages, status: http.StatusNoContent})
		default:
			if f.reply(q, lpFwdReply{kind: lpFwdMessages, status: http.StatusOK, frames: frames}) != nil {
				s.requeue(frames)
			}
		}
	case lpFwdPost:
		if !s.waitFlow(ctx, lp.cfg.Window) {
			lp.limits.hit(&lp.limits.lpTimeoutHits, "queued bytes", s.clientKey)
			f.reply(q, lpFwdReply{kind: lpFwdStatus, status: http.StatusRequestTimeout})
			return
		}
		err := s.receive(q.body, q.ndjson, lp.cfg.MaxBatch)
		switch {
		case err == errLPSessionGone:
			f.reply(q, lpFwdReply{kind: lpFwdGone})
		case err != nil:
			lp.log.Debug("longpoll bad frame", "session", s.id, "err", err)
			f.reply(q, lpFwdReply{kind: lpFwdStatus, status: http.StatusBadRequest, msg: err.Error()})
		default:
			f.reply(q, lpFwdReply{kind: lpFwdStatus, status: http.StatusOK})
		}
	}
}

// reply sends p to the node that forwarded q.
func (f *lpForwarder) reply(q lpFwdRequest, p lpFwdReply) error {
	p.id = q.id
	ctx, cancel := context.WithTimeout(context.Background(), lpFwdSendTimeout)
	defer cancel()
	err := f.broker.DirectBroadcast(ctx, q.from, &pubsub.Message{Topic: lpFwdTopic, Event: lpFwdEventReply, Payload: p.append(nil), Binary: true})
	if err != nil {
		f.lp.log.Debug("longpoll: forwarding reply lost", "node", q.from, "err", err)
	}
	return err
}

// send forwards q to owner and returns its id and the channel of its
// replies. ch is nil when the request was not sent: answered is true if
// the answer is written (over MaxForwarded, or closed), false if the
// owner cannot be reached.
func (f *lpForwarder) send(w http.ResponseWriter, owner string, q lpFwdRequest) (id uint64, ch chan lpFwdReply, answered bool) {
	q.id, q.from = f.nextID.Add(1), f.node
	ch = make(chan lpFwdReply, 2)
	f.mu.Lock()
	if f.closed || len(f.pending) >= f.lp.cfg.MaxForwarded {
		f.mu.Unlock()
		f.overflow.Add(1)
		lpWriteStatus(w, http.StatusInternalServerError) // phoenix.js reconnects
		return 0, nil, true
	}
	f.pending[q.id] = ch
	f.mu.Unlock()
	f.forwarded.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), lpFwdSendTimeout)
	defer cancel()
	err := f.broker.DirectBroadcast(ctx, owner, &pubsub.Message{Topic: lpFwdTopic, Event: lpFwdEventRequest, Payload: q.append(nil), Binary: true})
	if err != nil {
		f.done(q.id)
		f.lp.log.Debug("longpoll: cannot forward", "node", owner, "err", err)
		return 0, nil, false
	}
	return q.id, ch, false
}

// done forgets request id.
func (f *lpForwarder) done(id uint64) {
	f.mu.Lock()
	delete(f.pending, id)
	f.mu.Unlock()
}

// wait returns the owner's final reply: it waits up to lpFwdAckTimeout
// for the acknowledgement, then up to Window plus lpFwdMargin. ok is
// false when the owner did not answer, or the session is gone; cancelled
// is true when the client went away.
func (f *lpForwarder) wait(r *http.Request, ch chan lpFwdReply) (p lpFwdReply, ok, cancelled bool) {
	t := time.NewTimer(lpFwdAckTimeout)
	defer t.Stop()
	acked := false
	for {
		select {
		case p = <-ch:
			switch p.kind {
			case lpFwdGone:
				return p, false, false
			case lpFwdAck:
				if !acked {
					acked = true
					t.Reset(f.lp.cfg.Window + lpFwdMargin)
				}
				continue
			}
			return p, true, false
		case <-t.C:
			return p, false, false
		case <-r.Context().Done():
			return p, false, true
		}
	}
}

// poll forwards a poll to the node that holds its session and answers it.
// It reports false when the session is unreachable or gone, for the
// caller to answer as for a missing session (a new session).
func (f *lpForwarder) poll(w http.ResponseWriter, r *http.Request, req lpRequest) bool {
	id, ch, answered := f.send(w, req.owner, lpFwdRequest{kind: lpFwdPoll, session: req.id})
	if ch == nil {
		return answered
	}
	defer f.done(id)
	p, ok, cancelled := f.wait(r, ch)
	if cancelled {
		// Tell the owner, so that its poll takes nothing more.
		ctx, cancel := context.WithTimeout(context.Background(), lpFwdSendTimeout)
		defer cancel()
		q := lpFwdRequest{kind: lpFwdCancel, id: id, from: f.node, session: req.id}
		_ = f.broker.DirectBroadcast(ctx, req.owner, &pubsub.Message{Topic: lpFwdTopic, Event: lpFwdEventRequest, Payload: q.append(nil), Binary: true})
		return true
	}
	if !ok || p.kind != lpFwdMessages {
		return false
	}
	lpWriteMessages(w, p.status, req.token, p.frames)
	return true
}

// post reads a POST body and forwards it to the node that holds its
// session, then answers as that node did; {"status":410} when the session
// is unreachable or gone.
func (f *lpForwarder) post(w http.ResponseWriter, r *http.Request, req lpRequest) {
	body, ndjson, ok := f.lp.readBody(w, r)
	if !ok {
		return
	}
	id, ch, answered := f.send(w, req.owner, lpFwdRequest{kind: lpFwdPost, session: req.id, ndjson: ndjson, body: body})
	if ch == nil {
		if !answered {
			lpWriteStatus(w, http.StatusGone)
		}
		return
	}
	defer f.done(id)
	p, ok, cancelled := f.wait(r, ch)
	switch {
	case cancelled:
	case !ok || p.kind != lpFwdStatus:
		lpWriteStatus(w, http.StatusGone)
	case p.msg != "":
		lpWriteError(w, p.status, p.msg)
	default:
		lpWriteStatus(w, p.status)
	}
}

// ForwardStats counts a LongPoll endpoint's forwarding between nodes.
type ForwardStats struct {
	// Forwarding is how many requests this node has forwarded to other
	// nodes and waits for; Serving, how many it serves for other nodes.
	Forwarding, Serving int
	// Forwarded counts the requests forwarded to other nodes; Served,
	// those served for other nodes.
	Forwarded, Served uint64
	// Overflow counts the requests refused or dropped over MaxForwarded.
	Overflow uint64
}

// ForwardStats returns the endpoint's forwarding counters; zero when
// forwarding is off.
func (lp *LongPoll) ForwardStats() ForwardStats {
	f := lp.fwd
	if f == nil {
		return ForwardStats{}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return ForwardStats{
		Forwarding: len(f.pending), Serving: len(f.served),
		Forwarded: f.forwarded.Load(), Served: f.servedN.Load(), Overflow: f.overflow.Load(),
	}
}
