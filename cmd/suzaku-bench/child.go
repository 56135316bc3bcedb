package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// A client process ("child") holds up to maxPerChild connections, each
// with one reader goroutine and a 1 KiB read buffer, and does what its
// coordinator asks (proto.go).

const (
	maxPerChild   = 15000
	clientReadBuf = 1024
	writeTimeout  = 5 * time.Second
	// heartbeatSlots spreads heartbeats: each tick of Heartbeat/slots, one
	// connection in slots sends its heartbeat.
	heartbeatSlots = 30
)

// child is one client process's state.
type child struct {
	outMu sync.Mutex
	out   *json.Encoder

	mu      sync.Mutex
	conns   []*benchConn
	errs    errTally
	closed  map[string]int // connections the server closed, by code
	hbStop  chan struct{}
	readers sync.WaitGroup

	// table holds the deliveries since the last reset.
	table    atomic.Pointer[roundTable]
	closing  atomic.Bool
	resume   chan struct{} // closed: slow connections read again
	resumeMu sync.Once
	hbRef    atomic.Int64

	// The scenarios of their own files: the last connect's spec (storm.go),
	// reply latencies of pushes (mixed.go), LongPoll clients (longpoll.go),
	// presence samples (presence.go).
	lastSpec  atomic.Pointer[connectSpec]
	pushLat   atomic.Pointer[atomicHist]
	pushReply atomic.Int64
	lpLive    atomic.Int64
	lp        lpState
}

// benchConn is one client connection.
type benchConn struct {
	nc   net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
	idx  int
	slow bool
	// joined is set once every join got an ok reply; dead once the
	// connection is gone.
	joined atomic.Bool
	dead   atomic.Bool
	// ended tells, for a slow connection, how it ended; drained counts the
	// bytes it read once resumed.
	ended   atomic.Pointer[string]
	drained atomic.Int64
	// counted is the round table that expects this connection's
	// deliveries, if any.
	counted atomic.Pointer[roundTable]
	// bytes counts the payload bytes read; pres, for a presence sample,
	// holds the list as phoenix.js's Presence would (presence.go).
	bytes atomic.Int64
	pres  *presenceList
}

// roundTable counts the deliveries of rounds base..base+len(rs)-1.
type roundTable struct {
	base int64
	rs   []roundSlot
	// expect is how many deliveries complete a round in this child: the
	// reading connections open at the reset (initial), less those closed
	// since.
	expect     atomic.Int64
	initial    int64
	lat        atomicHist
	deliveries atomic.Int64
	stray      atomic.Int64
}

type roundSlot struct {
	count    atomic.Int64
	invFirst atomic.Int64 // math.MaxInt64 - first receive time, 0 = none
	last     atomic.Int64
	done     atomic.Bool // the round event was sent
}

func newChild(out io.Writer) *child {
	ch := &child{
		out:    json.NewEncoder(out),
		closed: make(map[string]int),
		hbStop: make(chan struct{}),
		resume: make(chan struct{}),
	}
	ch.table.Store(&roundTable{})
	return ch
}

// runChild is the hidden "client" subcommand: it reads commands from in
// and writes events to out until a close command, the end of in, or ctx.
func runChild(ctx context.Context, in io.Reader, out io.Writer) error {
	ch := newChild(out)
	cmds := make(chan command)
	readErr := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(in)
		for {
			var c command
			if err := dec.Decode(&c); err != nil {
				readErr <- err
				return
			}
			select {
			case cmds <- c:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
	}()
	go ch.heartbeats(ctx)
	defer ch.shutdown()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return nil // the coordinator is gone
			}
			return err
		case c := <-cmds:
			ev := ch.handle(ctx, c)
			ev.Type, ev.Seq = evAck, c.Seq
			ch.emit(ev)
			if c.Op == opClose {
				return nil
			}
		}
	}
}

func (ch *child) emit(ev event) {
	ch.outMu.Lock()
	defer ch.outMu.Unlock()
	_ = ch.out.Encode(ev)
}

func (ch *child) handle(ctx context.Context, c command) event {
	switch c.Op {
	case opConnect:
		if c.Connect == nil {
			return event{Err: "connect: no spec"}
		}
		rep, err := ch.connect(ctx, *c.Connect)
		if err != nil {
			return event{Err: err.Error()}
		}
		return event{Connect: rep}
	case opReset:
		return event{Stats: &statsReport{Expect: ch.reset(c.Base, c.Rounds)}}
	case opStats:
		return event{Stats: ch.stats()}
	case opDrain:
		return event{Drain: ch.drain(ctx, time.Duration(c.Wait))}
	case opClose:
		ch.shutdown()
		return event{}
	case opPush:
		return ch.push(ctx, c)
	case opStorm:
		return ch.storm(ctx, c)
	case opLongPoll:
		return ch.longPoll(ctx, c)
	case opPresence:
		return ch.presenceStatus(c)
	}
	return event{Err: fmt.Sprintf("unknown op %q", c.Op)}
}

// connect opens spec.N connections with spec.Concurrency workers and
// joins each to spec.Topics.
func (ch *child) connect(ctx context.Context, spec connectSpec) (*connectReport, error) {
	if spec.N <= 0 || spec.N > maxPerChild {
		return nil, fmt.Errorf("connect: %d connections, want 1..%d", spec.N, maxPerChild)
	}
	u, err := url.Parse(spec.URL)
	if err != nil {
		return nil, err
	}
	local := net.ParseIP(spec.Local)
	if spec.Local != "" && local == nil {
		return nil, fmt.Errorf("connect: bad source address %q", spec.Local)
	}
	if spec.Timeout <= 0 {
		spec.Timeout = Duration(30 * time.Second)
	}
	ch.lastSpec.Store(&spec)
	dialer := newDialer(spec, local)
	var (
		st                   connectState
		tcp, upgrade, joinsH atomicHist
	)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() { // progress, every half second
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := st.report()
				ch.emit(event{Type: evProgress, Progress: &p})
			}
		}
	}()
	workers := min(max(spec.Concurrency, 1), spec.N)
	paceStart := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= spec.N || ctx.Err() != nil || ch.closing.Load() {
					return
				}
				if spec.Rate > 0 { // paced joins (presence.go)
					time.Sleep(time.Until(paceStart.Add(time.Duration(float64(i) / spec.Rate * float64(time.Second)))))
				}
				ch.open(ctx, dialer, u, spec, spec.First+i, &st, &tcp, &upgrade, &joinsH)
			}
		})
	}
	wg.Wait()
	close(done)
	rep := &connectReport{progressReport: st.report(), TCP: tcp.snapshot(), Upgrade: upgrade.snapshot(), Join: joinsH.snapshot()}
	rep.Errors, rep.Samples = st.errs.snapshot()
	rep.RSS, _ = readRSS(os.Getpid())
	return rep, nil
}

// newDialer dials from local (if set) with spec's timeout and options.
func newDialer(spec connectSpec, local net.IP) *net.Dialer {
	d := &net.Dialer{
		Timeout: time.Duration(spec.Timeout),
		Control: func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = setDialSockopts(fd, spec.RcvBuf) })
			return errors.Join(err, serr)
		},
	}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return d
}

// connectState counts a connect command's progress.
type connectState struct {
	connected, joined, failed atomic.Int64
	errs                      errTally
}

func (s *connectState) report() progressReport {
	return progressReport{Connected: int(s.connected.Load()), Joined: int(s.joined.Load()), Failed: int(s.failed.Load())}
}

// open dials, upgrades and joins connection number idx. It returns the
// stage that failed ("dial", "upgrade", "join"), or "" once joined.
func (ch *child) open(ctx context.Context, d *net.Dialer, base *url.URL, spec connectSpec, idx int, st *connectState, tcp, upgrade, joins *atomicHist) (failed string) {
	fail := func(stage string, err error) {
		st.failed.Add(1)
		st.errs.add(stage+": "+errKind(err), err)
		failed = stage
	}
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, time.Duration(spec.Timeout))
	defer cancel()
	nc, err := d.DialContext(dctx, "tcp", base.Host)
	if err != nil {
		fail("dial", err)
		return
	}
	t1 := time.Now()
	tcp.record(t1.Sub(t0))
	st.connected.Add(1)
	u := *base
	q := u.Query()
	q.Set("vsn", "2.0.0")
	q.Set("user", "bench"+strconv.Itoa(idx))
	u.RawQuery = q.Encode()
	_ = nc.SetDeadline(t1.Add(time.Duration(spec.Timeout)))
	br, _, err := ws.Dialer{ReadBufferSize: clientReadBuf, WriteBufferSize: 512}.Upgrade(nc, &u)
	if err != nil {
		nc.Close()
		fail("upgrade", err)
		return
	}
	t2 := time.Now()
	upgrade.record(t2.Sub(t1))
	_ = nc.SetDeadline(time.Time{})
	if br == nil {
		br = bufio.NewReaderSize(nc, clientReadBuf)
	}
	c := &benchConn{nc: nc, br: br, idx: idx, slow: spec.Slow}
	if spec.Sample > 0 && (idx-spec.First)%spec.Sample == 0 {
		c.pres = newPresenceList(time.Now())
	}
	replies := make(chan string, len(spec.Topics))
	ch.readers.Add(1)
	go ch.readLoop(c, len(spec.Topics), replies)
	var frames []byte
	for i, t := range spec.Topics {
		frames = appendClientFrame(frames, wsText, joinFrame(i+1, expandTopic(t, idx-spec.First, spec.Group)))
	}
	if err := c.write(frames); err != nil {
		nc.Close()
		fail("join", err)
		return
	}
	timer := time.NewTimer(time.Until(t1.Add(time.Duration(spec.Timeout))))
	defer timer.Stop()
	for range spec.Topics {
		select {
		case status := <-replies:
			if status != "ok" {
				nc.Close()
				fail("join", fmt.Errorf("reply status %q", status))
				return
			}
		case <-timer.C:
			nc.Close()
			fail("join", errors.New("no reply (timeout)"))
			return
		case <-ctx.Done():
			nc.Close()
			fail("join", ctx.Err())
			return
		}
	}
	joins.record(time.Since(t2))
	c.joined.Store(true)
	st.joined.Add(1)
	ch.mu.Lock()
	ch.conns = append(ch.conns, c)
	ch.mu.Unlock()
	if ch.closing.Load() {
		nc.Close()
	}
	return ""
}

// write writes frames to the server, with a deadline.
func (c *benchConn) write(frames []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(frames)
	return err
}

// readLoop reads c's frames until the connection ends. A slow connection
// stops reading once its joins are answered, until drain.
func (ch *child) readLoop(c *benchConn, joins int, replies chan<- string) {
	defer ch.readers.Done()
	resumed := false
	for {
		op, n, err := readHeader(c.br)
		if err != nil {
			ch.ended(c, endKind(err))
			return
		}
		c.bytes.Add(n)
		if c.pres != nil && op == wsText {
			if err := ch.readPresence(c, n, &joins, replies); err != nil {
				ch.ended(c, endKind(err))
				return
			}
			continue
		}
		switch op {
		case wsText, wsBinary:
			p, err := c.br.Peek(int(min(n, int64(c.br.Size()))))
			if err != nil {
				ch.ended(c, endKind(err))
				return
			}
			now := time.Now().UnixNano()
			kind, round, ts := classify(p)
			switch {
			case kind == kindBroadcast && !c.slow:
				ch.deliver(round, ts, now)
			case kind == kindReply && isPushReply(p):
				ch.pushReplied(p, now)
			case kind == kindReply && joins > 0 && int64(len(p)) == n:
				ref, status, err := parseReply(p)
				if err == nil && ref != "" && ref[0] != 'h' {
					joins--
					select {
					case replies <- status:
					default:
					}
				}
			case kind == kindError:
				ch.errs.add("phx_error or phx_close received", nil)
			}
			if resumed {
				c.drained.Add(n)
			}
			if _, err := c.br.Discard(int(n)); err != nil {
				ch.ended(c, endKind(err))
				return
			}
			if c.slow && joins == 0 && !resumed {
				select { // stop reading until drain (or close)
				case <-ch.resume:
				case <-ch.hbStop:
				}
				resumed = true
			}
		case wsClose:
			code := "no status"
			if n >= 2 && n <= 125 {
				var b [125]byte
				if _, err := io.ReadFull(c.br, b[:n]); err == nil {
					code = strconv.Itoa(int(b[0])<<8 | int(b[1]))
				}
			}
			ch.ended(c, "close "+code)
			return
		case wsPing:
			if n > 125 {
				ch.ended(c, "protocol error")
				return
			}
			var b [125]byte
			if _, err := io.ReadFull(c.br, b[:n]); err != nil {
				ch.ended(c, endKind(err))
				return
			}
			_ = c.write(appendClientFrame(nil, wsPong, b[:n]))
		default:
			if _, err := c.br.Discard(int(n)); err != nil {
				ch.ended(c, endKind(err))
				return
			}
		}
	}
}

// ended records how c ended, unless the tool itself closed it.
func (ch *child) ended(c *benchConn, how string) {
	c.dead.Store(true)
	c.nc.Close()
	ch.uncount(c)
	if c.slow {
		c.ended.Store(&how)
	}
	if ch.closing.Load() || how == closedByTool {
		return
	}
	ch.mu.Lock()
	ch.closed[how]++
	ch.mu.Unlock()
}

// deliver records a broadcast of round r sent at ts and received at now.
func (ch *child) deliver(r, ts, now int64) {
	t := ch.table.Load()
	t.deliveries.Add(1)
	i := r - t.base
	if i < 0 || i >= int64(len(t.rs)) {
		t.stray.Add(1)
		return
	}
	t.lat.record(time.Duration(now - ts))
	s := &t.rs[i]
	atomicMax(&s.invFirst, math.MaxInt64-now)
	atomicMax(&s.last, now)
	if s.count.Add(1) >= t.expect.Load() && s.done.CompareAndSwap(false, true) {
		ch.emit(event{Type: evRound, Round: r})
	}
}

// uncount stops expecting c's deliveries, and completes the rounds that
// every other connection already got.
func (ch *child) uncount(c *benchConn) {
	t := ch.table.Load()
	if !c.counted.CompareAndSwap(t, nil) || t == nil {
		return
	}
	expect := t.expect.Add(-1)
	for i := range t.rs {
		s := &t.rs[i]
		if n := s.count.Load(); n > 0 && n >= expect && s.done.CompareAndSwap(false, true) {
			ch.emit(event{Type: evRound, Round: t.base + int64(i)})
		}
	}
}

// reset starts counting rounds base..base+rounds-1 afresh; a round is
// complete when every open, joined, reading connection got it.
func (ch *child) reset(base int64, rounds int) (expect int64) {
	t := &roundTable{base: base, rs: make([]roundSlot, max(rounds, 0))}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, c := range ch.conns {
		if !c.slow && !c.dead.Load() {
			expect++
			c.counted.Store(t)
		}
	}
	expect += ch.lpLive.Load() // LongPoll clients read every broadcast too
	t.expect.Store(expect)
	t.initial = expect
	ch.table.Store(t)
	return expect
}

func (ch *child) stats() *statsReport {
	t := ch.table.Load()
	s := &statsReport{
		Expect:     t.initial,
		Deliveries: t.deliveries.Load(),
		Stray:      t.stray.Load(),
		Latency:    t.lat.snapshot(),
		Rounds:     make([]roundStats, len(t.rs)),
		Heartbeats: ch.hbRef.Load(),
	}
	for i := range t.rs {
		r := &t.rs[i]
		s.Rounds[i] = roundStats{Round: t.base + int64(i), Count: r.count.Load(), Last: r.last.Load()}
		if f := r.invFirst.Load(); f != 0 {
			s.Rounds[i].First = math.MaxInt64 - f
		}
	}
	ch.mu.Lock()
	if len(ch.closed) > 0 {
		s.Closed = make(map[string]int, len(ch.closed))
		for k, v := range ch.closed {
			s.Closed[k] = v
		}
	}
	ch.mu.Unlock()
	s.Errors, _ = ch.errs.snapshot()
	return s
}

// drain lets the slow connections read again and waits up to wait for
// them to read what is queued for them, or to find that the server closed
// them.
func (ch *child) drain(ctx context.Context, wait time.Duration) *drainReport {
	ch.resumeMu.Do(func() { close(ch.resume) })
	var slow []*benchConn
	ch.mu.Lock()
	for _, c := range ch.conns {
		if c.slow {
			slow = append(slow, c)
		}
	}
	ch.mu.Unlock()
	deadline := time.Now().Add(wait)
	rep := &drainReport{Slow: len(slow), Closed: make(map[string]int)}
	for {
		// Quiet: nothing read during the last 200 ms by any still open one.
		var before int64
		for _, c := range slow {
			before += c.drained.Load()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
		var after int64
		open := 0
		for _, c := range slow {
			after += c.drained.Load()
			if c.ended.Load() == nil {
				open++
			}
		}
		if open == 0 || after == before || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
	}
	for _, c := range slow {
		rep.Bytes += c.drained.Load()
		if how := c.ended.Load(); how != nil {
			rep.Closed[*how]++
		} else {
			rep.Open++
		}
	}
	return rep
}

// heartbeats sends each connection's heartbeat every 30 s, spread over
// the period so that they do not come in bursts.
func (ch *child) heartbeats(ctx context.Context) {
	const period = 30 * time.Second
	t := time.NewTicker(period / heartbeatSlots)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-ch.hbStop:
			return
		case <-t.C:
		}
		ch.mu.Lock()
		var due []*benchConn
		for i := tick % heartbeatSlots; i < len(ch.conns); i += heartbeatSlots {
			if c := ch.conns[i]; !c.dead.Load() {
				due = append(due, c)
			}
		}
		ch.mu.Unlock()
		for _, c := range due {
			if err := c.write(appendClientFrame(nil, wsText, heartbeatFrame(ch.hbRef.Add(1)))); err != nil {
				ch.errs.add("heartbeat: "+errKind(err), err)
			}
		}
	}
}

// shutdown closes every connection and waits for their readers. It is
// safe to call more than once.
func (ch *child) shutdown() {
	if !ch.closing.CompareAndSwap(false, true) {
		return
	}
	close(ch.hbStop)
	ch.mu.Lock()
	conns := ch.conns
	ch.mu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
	waited := make(chan struct{})
	go func() { ch.readers.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "suzaku-bench client: readers still running after 10 s")
	}
}

// errTally counts errors by kind and keeps a few samples.
type errTally struct {
	mu      sync.Mutex
	counts  map[string]int
	samples []string
}

const maxSamples = 10

func (t *errTally) add(kind string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = make(map[string]int)
	}
	t.counts[kind]++
	if err != nil && t.counts[kind] <= 2 && len(t.samples) < maxSamples {
		t.samples = append(t.samples, kind+": "+err.Error())
	}
}

func (t *errTally) snapshot() (map[string]int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.counts) == 0 {
		return nil, nil
	}
	m := make(map[string]int, len(t.counts))
	for k, v := range t.counts {
		m[k] = v
	}
	return m, append([]string(nil), t.samples...)
}

// errKind names an error briefly, without addresses or ports, so that
// errors of one kind are counted together.
func errKind(err error) string {
	var se ws.StatusError
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return "HTTP status " + strconv.Itoa(int(se))
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

const closedByTool = "closed by the tool"

// endKind names how a connection ended from its read error.
func endKind(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, net.ErrClosed):
		return closedByTool
	}
	return errKind(err)
}
