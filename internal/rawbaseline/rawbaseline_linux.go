//go:build linux

package rawbaseline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"syscall"

	"github.com/gobwas/ws"
)

// maxFrame bounds a client frame; the tool sends joins and heartbeats.
const maxFrame = 64 << 10

// minSlice is the fewest subscribers a broadcast gives a writer goroutine
// of its own.
const minSlice = 64

// Server is the baseline: an http.Handler for /socket/websocket,
// POST /api/broadcast and GET /api/health, and an epoll loop ([Server.Serve])
// that reads the WebSocket connections.
//
// Lock order: Server.mu, then conn.mu.
type Server struct {
	mux          *http.ServeMux
	epfd         int
	wakeR, wakeW int

	writers int // goroutines per broadcast

	mu     sync.RWMutex
	conns  map[int]*conn // by file descriptor
	topics map[string]*topicSet
	closed bool
}

// Config configures [NewWith]. The zero value is the parallel baseline.
type Config struct {
	// Writers is the number of goroutines that write one broadcast, each
	// to its own disjoint slice of the subscribers. Default (zero or
	// less): GOMAXPROCS, the most this box can do at once; 1 writes every
	// broadcast from the request's goroutine (the serial baseline).
	Writers int
}

// topicSet is one topic's subscribers: a slice to split among writers,
// and each one's index in it for O(1) removal.
type topicSet struct {
	list []*conn
	idx  map[*conn]int
}

// conn is one WebSocket connection. Its descriptor is used with raw
// syscalls under mu, and closed only once dead is set (under mu), so a
// write never reaches a descriptor reused by a newer connection.
type conn struct {
	nc      net.Conn // keeps the descriptor open
	fd      int
	mu      sync.Mutex
	dead    bool
	pending []byte   // a partial frame: the loop's alone
	topics  []string // under Server.mu
}

// New returns a parallel baseline ([NewWith] with the zero Config) whose
// loop is not yet running.
func New() (*Server, error) { return NewWith(Config{}) }

// NewWith returns a Server whose loop is not yet running.
func NewWith(cfg Config) (*Server, error) {
	writers := cfg.Writers
	if writers <= 0 {
		writers = runtime.GOMAXPROCS(0)
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	s := &Server{
		mux: http.NewServeMux(), epfd: epfd, wakeR: p[0], wakeW: p[1], writers: writers,
		conns: make(map[int]*conn), topics: make(map[string]*topicSet),
	}
	s.mux.HandleFunc("/socket/websocket", s.upgrade)
	s.mux.HandleFunc("POST /api/broadcast", s.broadcast)
	s.mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Conns returns how many WebSocket connections are open.
func (s *Server) Conns() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

// Serve reads the connections until ctx is done, then closes them all and
// releases the loop. It returns ctx's error, or the epoll error that
// stopped it. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _, _ = syscall.Write(s.wakeW, []byte{1}) })
	defer stop()
	defer s.shutdown()
	buf := make([]byte, maxFrame)
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(s.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == s.wakeR {
				return ctx.Err()
			}
			s.mu.RLock()
			c := s.conns[fd]
			s.mu.RUnlock()
			if c != nil {
				s.read(c, buf)
			}
		}
	}
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	all := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		s.drop(c)
	}
	syscall.Close(s.epfd)
	syscall.Close(s.wakeR)
	syscall.Close(s.wakeW)
}

func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	nc, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return // gobwas/ws answered the request
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		nc.Close()
		return
	}
	c := &conn{nc: nc, fd: -1}
	_ = raw.Control(func(fd uintptr) { c.fd = int(fd) })
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.conns[c.fd] = c
	s.mu.Unlock()
	if n := rw.Reader.Buffered(); n > 0 { // frames sent right behind the handshake
		b, _ := rw.Reader.Peek(n)
		s.onData(c, append([]byte(nil), b...))
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		s.drop(c)
	}
}

// read reads what c's socket holds, without blocking.
func (s *Server) read(c *conn, buf []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	n, err := syscall.Read(c.fd, buf)
	c.mu.Unlock()
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
	case err != nil || n <= 0:
		s.drop(c)
	default:
		s.onData(c, buf[:n])
	}
}

// onData handles the client frames in data, keeping a partial one.
func (s *Server) onData(c *conn, data []byte) {
	if len(c.pending) > 0 {
		data = append(c.pending, data...)
		c.pending = nil
	}
	for len(data) > 0 {
		op, payload, rest, err := parseFrame(data)
		if errors.Is(err, errShort) {
			c.pending = append([]byte(nil), data...)
			return
		}
		if err != nil {
			s.drop(c)
			return
		}
		data = rest
		switch op {
		case ws.OpText:
			s.message(c, payload)
		case ws.OpPing:
			s.write(c, frame(ws.OpPong, payload))
		case ws.OpClose:
			s.write(c, frame(ws.OpClose, payload))
			s.drop(c)
			return
		}
	}
}

// message answers a V2 JSON message: join, leave and heartbeat (and
// anything else) get an ok reply with an empty response.
func (s *Server) message(c *conn, payload []byte) {
	var m []json.RawMessage
	if json.Unmarshal(payload, &m) != nil || len(m) < 5 {
		return
	}
	var topic, event string
	_ = json.Unmarshal(m[2], &topic)
	_ = json.Unmarshal(m[3], &event)
	switch event {
	case "phx_join":
		s.subscribe(c, topic, true)
	case "phx_leave":
		s.subscribe(c, topic, false)
	}
	if string(m[1]) == "null" {
		return
	}
	b := make([]byte, 0, 64+len(m[0])+len(m[1])+len(m[2]))
	b = append(append(append(b, '['), m[0]...), ',')
	b = append(append(b, m[1]...), ',')
	b = append(append(b, m[2]...), `,"phx_reply",{"response":{},"status":"ok"}]`...)
	s.write(c, frame(ws.OpText, b))
}

func (s *Server) subscribe(c *conn, topic string, join bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.topics[topic]
	in := false
	if ts != nil {
		_, in = ts.idx[c]
	}
	switch {
	case join && !in:
		if ts == nil {
			ts = &topicSet{idx: make(map[*conn]int)}
			s.topics[topic] = ts
		}
		ts.idx[c] = len(ts.list)
		ts.list = append(ts.list, c)
		c.topics = append(c.topics, topic)
	case !join && in:
		s.unsubscribe(c, topic)
	}
}

// unsubscribe removes c from topic's set, under s.mu.
func (s *Server) unsubscribe(c *conn, topic string) {
	ts := s.topics[topic]
	if ts == nil {
		return
	}
	i, ok := ts.idx[c]
	if !ok {
		return
	}
	last := len(ts.list) - 1
	ts.list[i] = ts.list[last]
	ts.idx[ts.list[i]] = i
	ts.list[last] = nil
	ts.list = ts.list[:last]
	delete(ts.idx, c)
	if len(ts.list) == 0 {
		delete(s.topics, topic)
	}
}

// broadcast writes one frame [null,null,topic,event,payload] to every
// subscriber of topic, one write(2) each, from Config.Writers goroutines
// over disjoint slices of the subscribers.
func (s *Server) broadcast(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Topic   string          `json:"topic"`
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&body); err != nil || body.Topic == "" || body.Event == "" || len(body.Payload) == 0 {
		http.Error(w, `{"error":"want {\"topic\": string, \"event\": string, \"payload\": object}"}`, http.StatusBadRequest)
		return
	}
	topic, _ := json.Marshal(body.Topic)
	event, _ := json.Marshal(body.Event)
	msg := make([]byte, 0, 16+len(topic)+len(event)+len(body.Payload))
	msg = append(append(msg, `[null,null,`...), topic...)
	msg = append(append(append(msg, ','), event...), ',')
	msg = append(append(msg, body.Payload...), ']')
	f := frame(ws.OpText, msg)
	var (
		dead   []*conn
		deadMu sync.Mutex
		wg     sync.WaitGroup
	)
	writeAll := func(list []*conn) {
		var mine []*conn
		for _, c := range list {
			if !s.write(c, f) {
				mine = append(mine, c)
			}
		}
		if len(mine) > 0 {
			deadMu.Lock()
			dead = append(dead, mine...)
			deadMu.Unlock()
		}
	}
	s.mu.RLock()
	var list []*conn
	if ts := s.topics[body.Topic]; ts != nil {
		list = ts.list
	}
	// Split into s.writers slices (fewer for small topics, where a
	// goroutine would cost more than it saves); this goroutine writes
	// the first.
	parts := min(s.writers, (len(list)+minSlice-1)/minSlice)
	for i := 1; i < parts; i++ {
		part := list[i*len(list)/parts : (i+1)*len(list)/parts]
		wg.Go(func() { writeAll(part) })
	}
	if parts > 1 {
		list = list[:len(list)/parts]
	}
	writeAll(list)
	wg.Wait()
	s.mu.RUnlock()
	for _, c := range dead {
		s.drop(c)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

// write writes b with one write(2); false means the socket did not take
// all of it (or is gone), and the connection must be dropped.
func (s *Server) write(c *conn, b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	n, err := syscall.Write(c.fd, b)
	return err == nil && n == len(b)
}

// drop closes c and forgets it. It is safe to call more than once.
func (s *Server) drop(c *conn) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	c.mu.Unlock()
	s.mu.Lock()
	if s.conns[c.fd] == c {
		delete(s.conns, c.fd)
	}
	for _, t := range c.topics {
		s.unsubscribe(c, t)
	}
	s.mu.Unlock()
	_ = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	c.nc.Close()
}

var (
	errShort    = errors.New("partial frame")
	errTooLarge = errors.New("frame too large")
)

// parseFrame parses one masked client frame at the start of data and
// unmasks its payload in place. errShort means data holds only part of it.
func parseFrame(data []byte) (op ws.OpCode, payload, rest []byte, err error) {
	if len(data) < 2 {
		return 0, nil, nil, errShort
	}
	op = ws.OpCode(data[0] & 0x0f)
	masked := data[1]&0x80 != 0
	n := uint64(data[1] & 0x7f)
	i := 2
	switch n {
	case 126:
		if len(data) < 4 {
			return 0, nil, nil, errShort
		}
		n, i = uint64(binary.BigEndian.Uint16(data[2:])), 4
	case 127:
		if len(data) < 10 {
			return 0, nil, nil, errShort
		}
		n, i = binary.BigEndian.Uint64(data[2:]), 10
	}
	if n > maxFrame {
		return 0, nil, nil, errTooLarge
	}
	var key []byte
	if masked {
		if len(data) < i+4 {
			return 0, nil, nil, errShort
		}
		key, i = data[i:i+4], i+4
	}
	if uint64(len(data)-i) < n {
		return 0, nil, nil, errShort
	}
	payload = data[i : i+int(n)]
	if key != nil {
		for j := range payload {
			payload[j] ^= key[j&3]
		}
	}
	return op, payload, data[i+int(n):], nil
}

// frame returns an unmasked, final server frame.
func frame(op ws.OpCode, payload []byte) []byte {
	n := len(payload)
	b := make([]byte, 0, n+10)
	b = append(b, 0x80|byte(op))
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}
