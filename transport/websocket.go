package transport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// Defaults of [WebSocketConfig].
const (
	DefaultMaxMessageSize  = 1 << 20          // 1 MiB
	DefaultIdleTimeout     = 60 * time.Second // as Phoenix's timeout: 60_000
	DefaultWriteTimeout    = 10 * time.Second
	DefaultWriteQueueLimit = 4 << 20 // 4 MiB
	closeWait              = 2 * time.Second
)

// authTokenPrefix marks the subprotocol that carries phoenix.js's authToken.
const authTokenPrefix = "base64url.bearer.phx."

// WebSocketConfig configures a [WebSocket] endpoint. Only Socket is
// required; every other zero value picks a safe default.
type WebSocketConfig struct {
	// Socket authenticates connections and routes their messages.
	Socket *channel.Socket
	// AllowedOrigins lists the origins allowed to connect:
	// "https://example.com", "//example.com:8080", "//*.example.com",
	// "//localhost:*". The scheme is compared when given; the port always:
	// a pattern without one matches only the default port of the origin's
	// scheme (443 for https), and ":*" any port. When empty, a request
	// with an Origin header must come from the host and port it is
	// addressed to (its Host header). Requests without an Origin header
	// (not from a browser) are always allowed.
	AllowedOrigins []string
	// InsecureSkipOriginCheck turns the Origin check off. Only for tests and
	// tools: it lets any web page use your users' cookies to connect.
	InsecureSkipOriginCheck bool
	// MaxMessageSize is the largest message (all fragments together) a
	// client may send, in bytes; a larger one closes the connection with
	// 1009. Zero means DefaultMaxMessageSize.
	MaxMessageSize int64
	// IdleTimeout closes a connection that sent nothing for this long
	// (phoenix.js sends a heartbeat every 30 s) with 1001, and one whose
	// message (all its frames) took longer than this to arrive with 1008.
	// Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to the socket. Zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// WriteQueueLimit is how many bytes may wait for a slow client before it
	// is disconnected with 1013 (try again later). Zero means
	// DefaultWriteQueueLimit.
	WriteQueueLimit int
	// PauseTimeout closes, with 1013 (try again later), a connection whose
	// reading has been paused this long because its channels do not keep
	// up with its messages (see channel.Limits.MaxQueuedBytes). Zero
	// means DefaultPauseTimeout (30 s).
	PauseTimeout time.Duration
	// MaxConns bounds the connections of this endpoint (this node); over
	// it, the upgrade is answered 503. Zero means DefaultMaxConns
	// (100,000); negative means no limit.
	MaxConns int
	// MaxConnsPerIP bounds the connections of one client address (an
	// IPv6 client's /64); over it, the upgrade is answered 429. Zero means
	// DefaultMaxConnsPerIP (1,000); negative means no limit. Behind a
	// proxy, set TrustedProxies, or every client counts as the proxy.
	MaxConnsPerIP int
	// TrustedProxies lists the addresses or CIDR prefixes of the proxies
	// whose X-Forwarded-For is believed when telling a client's address;
	// the client is the rightmost address that is not one of them. Empty
	// means none: the client is the TCP peer.
	TrustedProxies []string
	// DrainBatch and DrainInterval pace Shutdown: it closes DrainBatch
	// connections, waits DrainInterval, closes the next batch, so that a
	// restart does not bring every client back at the same instant (as
	// Phoenix's drainer). Zero means 10,000 and 2 s.
	DrainBatch    int
	DrainInterval time.Duration
	// DisableEventLoop gives every connection a reader goroutine, as on
	// platforms without the event loop (and for TLS connections, always).
	// The event loop (Linux) reads idle connections with no goroutine and
	// no buffer each.
	DisableEventLoop bool
	// Logger receives the life of each connection at Info ("socket
	// connected" with its transport, serializer and the time Connect took;
	// "socket refused" with the reason; "socket disconnected" with the
	// close code and lifetime), every line with the connection's
	// socket_id (the connect and refusal lines with a request_id), and
	// connection errors at Debug. Nil discards.
	Logger *slog.Logger
	// Hook receives connection events: connect, refusal, disconnect with
	// its close code, slow clients (package telemetry). Nil means the
	// Socket's hook (channel.Config.Hook).
	Hook telemetry.Hook
}

// WebSocket is the Phoenix WebSocket endpoint, an http.Handler to mount at
// "{prefix}/websocket" ("/socket/websocket" for phoenix.js's default).
type WebSocket struct {
	cfg     WebSocketConfig
	origins []originPattern
	log     *slog.Logger

	// ctx is the parent of every session's context; cancelled by Shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	limits *connLimits

	mu          sync.Mutex
	conns       map[*wsConn]struct{}
	loop        *eventLoop    // running while there are connections
	stopJanitor chan struct{} // closes to stop the janitor
}

// NewWebSocket validates cfg and returns the endpoint. It starts nothing.
func NewWebSocket(cfg WebSocketConfig) (*WebSocket, error) {
	if cfg.Socket == nil {
		return nil, errors.New("transport: WebSocketConfig.Socket is nil")
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.WriteQueueLimit <= 0 {
		cfg.WriteQueueLimit = DefaultWriteQueueLimit
	}
	if cfg.PauseTimeout <= 0 {
		cfg.PauseTimeout = DefaultPauseTimeout
	}
	if cfg.DrainBatch <= 0 {
		cfg.DrainBatch = 10_000
	}
	if cfg.DrainInterval <= 0 {
		cfg.DrainInterval = 2 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Hook == nil {
		cfg.Hook = cfg.Socket.Hook()
	}
	limits, err := newConnLimits(log, cfg.Hook, nameWebSocket, cfg.TrustedProxies, cfg.MaxConnsPerIP, cfg.MaxConns, DefaultMaxConnsPerIP, DefaultMaxConns)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &WebSocket{cfg: cfg, origins: origins, log: log, limits: limits, ctx: ctx, cancel: cancel, conns: make(map[*wsConn]struct{})}, nil
}

// ServeHTTP runs the handshake in Phoenix's order (method, Origin, vsn,
// auth token, Connect) and then hands the connection over to its reader.
func (h *WebSocket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "expected a WebSocket upgrade (GET with Upgrade: websocket)", http.StatusBadRequest)
		return
	}
	if !h.cfg.InsecureSkipOriginCheck && !checkOrigin(r, h.origins) {
		emitRefused(h.cfg.Hook, nameWebSocket, "origin", http.StatusForbidden)
		logRefused(h.log, w, r, nameWebSocket, "origin", http.StatusForbidden, nil)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	key, ok := h.limits.acquire(r, func(status int) {
		http.Error(w, http.StatusText(status), status)
	})
	if !ok {
		return
	}
	handed := false // to the connection, which releases key when it ends
	defer func() {
		if !handed {
			h.limits.release(key)
		}
	}()
	params := r.URL.Query()
	ser, err := wire.Negotiate(params.Get("vsn"))
	if err != nil {
		emitRefused(h.cfg.Hook, nameWebSocket, "version", http.StatusForbidden)
		logRefused(h.log, w, r, nameWebSocket, "version", http.StatusForbidden, err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	protocols := subprotocols(r)
	info := &channel.ConnectInfo{
		Params:     params,
		Header:     r.Header,
		RemoteAddr: r.RemoteAddr,
		AuthToken:  authToken(protocols),
		Transport:  nameWebSocket,
	}
	start := time.Now()
	sess, err := h.cfg.Socket.Connect(r.Context(), info, ser)
	if err != nil {
		status := http.StatusForbidden
		var hs interface{ HTTPStatus() int }
		if errors.As(err, &hs) {
			status = hs.HTTPStatus()
		}
		emitRefused(h.cfg.Hook, nameWebSocket, "refused", status)
		logRefused(h.log, w, r, nameWebSocket, "refused", status, err)
		w.WriteHeader(status)
		return
	}
	up := ws.HTTPUpgrader{Timeout: h.cfg.WriteTimeout}
	for _, p := range protocols {
		if p == "phoenix" {
			up.Protocol = func(p string) bool { return p == "phoenix" }
		}
	}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		h.log.Debug("upgrade", "remote", r.RemoteAddr, "err", err)
		if nc != nil {
			nc.Close()
		}
		return
	}
	c := newWSConn(h, nc, sess)
	c.clientKey, handed = key, true
	var pending []byte
	if n := rw.Reader.Buffered(); n > 0 { // frames sent right behind the handshake
		pending, _ = rw.Reader.Peek(n)
		pending = append([]byte(nil), pending...)
	}
	rw = nil // let net/http's buffers go: an idle connection keeps none
	if err := sess.Serve(h.ctx, c); err != nil {
		h.log.Debug("serve", "err", err)
		nc.Close()
		sess.Close()
		return
	}
	loop := h.attach(c)
	took := time.Since(start)
	emitConnect(h.cfg.Hook, nameWebSocket, ser.Version(), took)
	logConnected(h.log, w, r, sess, nameWebSocket, took)
	if len(pending) > 0 {
		c.onData(pending)
	}
	if loop != nil {
		if err := loop.add(c); err == nil || errors.Is(err, ErrConnClosed) {
			return
		}
	}
	go c.readLoop()
}

// attach counts c in, starting the event loop and the janitor with the
// first connection. It returns the loop, nil if there is none.
func (h *WebSocket) attach(c *wsConn) *eventLoop {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[c] = struct{}{}
	if h.stopJanitor == nil {
		h.stopJanitor = make(chan struct{})
		go h.janitor(h.stopJanitor)
	}
	if h.loop == nil && eventLoopSupported && !h.cfg.DisableEventLoop {
		loop, err := newEventLoop()
		if err != nil {
			h.log.Warn("event loop unavailable: a goroutine per connection", "err", err)
		}
		h.loop = loop
	}
	return h.loop
}

// detach counts c out; with the last connection, the event loop and the
// janitor stop, so that an endpoint without connections holds no
// goroutine.
func (h *WebSocket) detach(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	if len(h.conns) > 0 {
		return
	}
	if h.stopJanitor != nil {
		close(h.stopJanitor)
		h.stopJanitor = nil
	}
	if h.loop != nil {
		go h.loop.close() // this may run on one of its pollers
		h.loop = nil
	}
}

// Conns returns how many connections are open.
func (h *WebSocket) Conns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Shutdown closes every connection with 1012 (service restart), so that
// clients reconnect to another node or to this one once it is back, in
// batches of DrainBatch every DrainInterval, and waits until they are gone
// or ctx is done.
func (h *WebSocket) Shutdown(ctx context.Context) error {
	defer h.cancel()
	h.mu.Lock()
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for len(conns) > 0 {
		n := min(len(conns), h.cfg.DrainBatch)
		for _, c := range conns[:n] {
			c.Close(CloseServiceRestart, "server shutting down")
		}
		conns = conns[n:]
		if len(conns) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.cfg.DrainInterval):
		}
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for h.Conns() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func subprotocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// authToken extracts phoenix.js's authToken from its subprotocol. Despite
// the prefix, phoenix.js encodes it with btoa (standard base64) and strips
// the padding; URL-safe and padded forms are accepted too.
func authToken(protocols []string) string {
	for _, p := range protocols {
		enc, ok := strings.CutPrefix(p, authTokenPrefix)
		if !ok {
			continue
		}
		enc = strings.TrimRight(enc, "=")
		for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := e.DecodeString(enc); err == nil {
				return string(b)
			}
		}
	}
	return ""
}
