package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// Defaults of [LongPollConfig].
const (
	DefaultLongPollWindow       = 10 * time.Second    // Phoenix's window_ms: 10_000
	DefaultLongPollMaxBodySize  = 1 << 20             // 1 MiB
	DefaultLongPollMaxBatch     = 100                 // phoenix.js MAX_LONGPOLL_BATCH_SIZE
	DefaultLongPollBufferLimit  = 4 << 20             // 4 MiB
	DefaultLongPollTokenMaxAge  = 14 * 24 * time.Hour // Phoenix's crypto: [max_age: 1_209_600]
	DefaultLongPollMaxForwarded = 10_000
	lpMinSecret                 = 32
)

// Request headers phoenix.js sends on LongPoll.
const (
	lpHeaderToken     = "X-Phoenix-Longpoll-Token"
	lpHeaderAuthToken = "X-Phoenix-Authtoken"
)

// ErrLongPollBinary is returned by a LongPoll session's Send for a binary
// frame: Phoenix's LongPoll carries text frames only (the poll answer is a
// JSON array of strings), so a binary push, reply or broadcast to a
// LongPoll client is dropped.
var ErrLongPollBinary = errors.New("transport: binary frames cannot be sent over LongPoll")

// LongPollConfig configures a [LongPoll] endpoint. Only Socket is required;
// every other zero value picks a default.
type LongPollConfig struct {
	// Socket authenticates connections and routes their messages.
	Socket *channel.Socket
	// AllowedOrigins lists the origins allowed to connect, with the same
	// rules as [WebSocketConfig].AllowedOrigins. A request from another
	// origin gets {"status":403}.
	AllowedOrigins []string
	// InsecureSkipOriginCheck turns the Origin check off. Only for tests and
	// tools.
	InsecureSkipOriginCheck bool
	// Window is how long a poll is held open waiting for frames before it
	// is answered {"status":204}. phoenix.js times a request out after 20 s
	// (longpollerTimeout), so keep it well under that. Zero means
	// DefaultLongPollWindow (10 s).
	Window time.Duration
	// SessionTimeout ends a session that has had no poll in progress for
	// this long; its channels terminate with channel.ErrClosed. POSTs do
	// not count, as in Phoenix. Zero means 1.5 × Window (15 s by default).
	SessionTimeout time.Duration
	// MaxBodySize is the largest POST body, in bytes; a larger one is
	// refused with {"error":…,"status":413} and none of it is processed.
	// A batch holds up to MaxBatch frames and binary frames grow by 4/3 in
	// base64, so raise it together with [WebSocketConfig].MaxMessageSize if
	// clients push large messages. Zero means DefaultLongPollMaxBodySize
	// (1 MiB).
	MaxBodySize int64
	// MaxBatch is how many lines of an ndjson POST are processed; the rest
	// is ignored, as Phoenix does (phoenix.js never sends more than 100).
	// Zero means DefaultLongPollMaxBatch (100).
	MaxBatch int
	// BufferLimit is how many bytes of frames may wait for a session's next
	// poll; over it the session ends (the next poll gets 410 and
	// phoenix.js reconnects and rejoins). Zero means
	// DefaultLongPollBufferLimit (4 MiB).
	BufferLimit int
	// TokenMaxAge is how long a session token stays valid; a poll with an
	// older token starts a new session. Zero means
	// DefaultLongPollTokenMaxAge (14 days, as Phoenix).
	TokenMaxAge time.Duration
	// Secret signs session tokens (HMAC-SHA256); at least 32 bytes. Nil
	// picks a random secret per process, which is right for one node.
	// The nodes of a cluster must share one Secret, so that any node can
	// verify a token and forward its requests to the session's node (see
	// "Several nodes" on [LongPoll]); with per-process secrets, a request
	// that reaches another node starts a new session there.
	Secret []byte
	// MaxForwarded bounds the requests of sessions held by other nodes
	// that this node has forwarded and waits for, and, apart, those it
	// serves for other nodes. Over it, a request to forward is answered
	// {"status":500} (phoenix.js reconnects), and one to serve is
	// dropped (its sender answers as for a session that is gone). Zero
	// means DefaultLongPollMaxForwarded (10,000); negative turns
	// forwarding off: tokens name no node, and a request for another
	// node's session starts a new session here.
	MaxForwarded int
	// BodyTimeout bounds the reading of one POST body; a client slower
	// than that has its connection cut. Zero means
	// DefaultLongPollBodyTimeout (10 s).
	BodyTimeout time.Duration
	// MaxSessions bounds the sessions of this endpoint (this node); a new
	// one over it is answered {"status":500}, which phoenix.js retries
	// with backoff. Zero means
	// DefaultLongPollMaxSessions (100,000); negative means no limit.
	MaxSessions int
	// MaxSessionsPerIP bounds the sessions of one client address (an
	// IPv6 client's /64); a new one over it is answered {"status":500}.
	// Zero means DefaultLongPollMaxSessionsPerIP (100); negative means no
	// limit.
	MaxSessionsPerIP int
	// TrustedProxies is as [WebSocketConfig].TrustedProxies.
	TrustedProxies []string
	// Logger receives the life of each session at Info, as
	// [WebSocketConfig].Logger does, and session errors at Debug. Nil
	// discards.
	Logger *slog.Logger
	// Hook receives session events: connect, refusal, disconnect, slow
	// clients (package telemetry). Nil means the Socket's hook
	// (channel.Config.Hook).
	Hook telemetry.Hook
}

// LongPoll is Phoenix's LongPoll endpoint, an http.Handler to mount at
// "{prefix}/longpoll" ("/socket/longpoll" for phoenix.js's default). It
// serves phoenix.js's LongPoll transport (and its fallback from
// WebSocket) as Phoenix 1.8 does: every answer is HTTP 200 with the
// status in the JSON body. An idle session costs its buffered frames, one
// timer and well under 1 KiB, no goroutine.
//
// # Requests
//
// A GET without a valid session token (or whose session is gone) runs the
// handshake: Origin, vsn and the socket's Connect, then answers
// {"messages":[],"status":410,"token":T}. A GET with a token is a poll:
// it is held for up to Window and answered with every frame buffered for
// the session, in order, as {"messages":[…],"status":200,"token":T}, or
// {"messages":[],"status":204,"token":T}. A POST with a token sends
// frames: an application/x-ndjson body holds one per line (a line starting
// with "[" is a V2 JSON frame, any other is the standard base64 of a V2
// binary frame; empty lines are skipped; only the first MaxBatch lines are
// read); any other body is one text frame. It is answered {"status":200}
// once the frames are dispatched; their replies come with the next poll.
//
// The token is read from the X-Phoenix-Longpoll-Token header or else from
// the last "token" query parameter, since the application's own "token"
// parameter comes first in phoenix.js's URL.
//
// # Errors
//
// A frame that does not decode answers {"error":"line N: …","status":400}
// after the lines before it were dispatched; the lines after it are not, and
// the session goes on. A POST for an unknown session gets {"status":410};
// a refused Connect, a bad vsn or a foreign Origin {"status":403}; a body
// over MaxBodySize {"error":…,"status":413}; a new session after Shutdown
// {"status":500}, which phoenix.js retries. {"status":408} is never sent:
// frames are handed to their channels without waiting for them. OPTIONS
// answers the CORS preflight; any other method gets HTTP 400.
//
// # Polls
//
// A session has at most one poll: a new poll answers the previous one with
// 204 at once. A poll whose client went away takes nothing from the
// buffer. Once a session ends (SessionTimeout without a poll, Shutdown,
// [channel.Socket.Disconnect], or BufferLimit exceeded), a waiting poll
// is answered {"messages":[],"status":410,"token":T} with its own token,
// which makes phoenix.js 1.8.2+ reconnect and rejoin. Binary frames cannot
// be sent to a LongPoll client: they are dropped (see [ErrLongPollBinary]).
//
// # Several nodes
//
// A session lives in the memory of the node that created it, and its
// token names that node. Behind a load balancer without sticky sessions,
// any node may get any request: a node that does not hold the session
// forwards the poll or the POST to the session's node over the socket's
// broker (a direct message, as Phoenix forwards through its PubSub),
// waits for the answer and gives it to the client, so the session
// behaves as if every request had reached its node. The owner
// acknowledges at once; a node that does not answer within 2 s (dead, or
// cut off from the broker), or a session that is gone, gets the answer
// of a missing session (a new session for a poll, {"status":410} for a
// POST), so the client reconnects and rejoins. The answer itself is
// awaited for Window plus 5 s. Every node needs the same Secret, and
// forwarded requests are bounded by MaxForwarded. A poll forwarded
// while its client goes away may lose the frames it took in that
// instant; a reply that cannot be sent puts them back.
type LongPoll struct {
	cfg     LongPollConfig
	origins []originPattern
	log     *slog.Logger
	secret  []byte
	node    string       // this node, named in tokens; "" without forwarding
	fwd     *lpForwarder // longpoll_forward.go; nil without forwarding

	active atomic.Int64 // requests in progress
	limits *connLimits

	mu       sync.Mutex
	sessions map[string]*lpSession
	closed   bool
}

// NewLongPoll validates cfg and returns the endpoint. It starts nothing.
func NewLongPoll(cfg LongPollConfig) (*LongPoll, error) {
	if cfg.Socket == nil {
		return nil, errors.New("transport: LongPollConfig.Socket is nil")
	}
	origins, err := parseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultLongPollWindow
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = cfg.Window * 3 / 2
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultLongPollMaxBodySize
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultLongPollMaxBatch
	}
	if cfg.BufferLimit <= 0 {
		cfg.BufferLimit = DefaultLongPollBufferLimit
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultLongPollBodyTimeout
	}
	if cfg.TokenMaxAge <= 0 {
		cfg.TokenMaxAge = DefaultLongPollTokenMaxAge
	}
	secret := cfg.Secret
	switch {
	case secret == nil:
		secret = make([]byte, lpMinSecret)
		rand.Read(secret)
	case len(secret) < lpMinSecret:
		return nil, fmt.Errorf("transport: LongPollConfig.Secret is %d bytes, want at least %d", len(secret), lpMinSecret)
	default:
		secret = append([]byte(nil), secret...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Hook == nil {
		cfg.Hook = cfg.Socket.Hook()
	}
	limits, err := newConnLimits(log, cfg.Hook, nameLongPoll, cfg.TrustedProxies, cfg.MaxSessionsPerIP, cfg.MaxSessions, DefaultLongPollMaxSessionsPerIP, DefaultLongPollMaxSessions)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	lp := &LongPoll{cfg: cfg, origins: origins, log: log, secret: secret, limits: limits, sessions: make(map[string]*lpSession)}
	if cfg.MaxForwarded >= 0 {
		if cfg.MaxForwarded == 0 {
			lp.cfg.MaxForwarded = DefaultLongPollMaxForwarded
		}
		broker := cfg.Socket.Broker()
		if lp.node = broker.Node(); lp.node == "" || len(lp.node) > lpMaxNodeLen {
			return nil, fmt.Errorf("transport: LongPoll forwarding needs a broker node name of 1 to %d bytes, got %q (or set MaxForwarded < 0)", lpMaxNodeLen, lp.node)
		}
		lp.fwd = newLPForwarder(lp, broker)
	}
	return lp, nil
}

// ServeHTTP answers one LongPoll request, in Phoenix's order: the CORS
// header, the Origin, then the method.
func (lp *LongPoll) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lp.active.Add(1)
	defer lp.active.Add(-1)
	if lp.fwd != nil {
		lp.fwd.start()
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if !lp.cfg.InsecureSkipOriginCheck && !checkOrigin(r, lp.origins) {
		emitRefused(lp.cfg.Hook, nameLongPoll, "origin", http.StatusForbidden)
		logRefused(lp.log, w, r, nameLongPoll, "origin", http.StatusForbidden, nil)
		lpWriteStatus(w, http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodOptions:
		h := w.Header()
		if req := r.Header.Values("Access-Control-Request-Headers"); len(req) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(req, ", "))
		}
		h.Set("Access-Control-Allow-Methods", "get, post, options")
		h.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		lp.get(w, r)
	case http.MethodPost:
		lp.post(w, r)
	default:
		http.Error(w, "LongPoll accepts GET, POST and OPTIONS", http.StatusBadRequest)
	}
}

func (lp *LongPoll) get(w http.ResponseWriter, r *http.Request) {
	req := lp.resolve(r)
	if req.owner != "" && lp.fwd != nil && lp.fwd.poll(w, r, req) {
		return
	}
	if req.sess == nil {
		lp.open(w, r, req)
		return
	}
	frames, err := req.sess.poll(r.Context(), lp.cfg.Window)
	switch {
	case errors.Is(err, errLPSessionGone):
		lpWriteMessages(w, 410, req.token, nil)
	case err != nil: // the client went away: nothing was taken
	case len(frames) == 0:
		lpWriteMessages(w, 204, req.token, nil)
	default:
		lpWriteMessages(w, 200, req.token, frames)
	}
}

// open runs the handshake of a new session: vsn, then Connect. The
// request's params go to Connect without the session token, when one was
// found in the query.
func (lp *LongPoll) open(w http.ResponseWriter, r *http.Request, req lpRequest) {
	params := r.URL.Query()
	if req.fromQuery && req.signed {
		vs := params["token"]
		if len(vs) == 1 {
			delete(params, "token")
		} else {
			params["token"] = vs[:len(vs)-1]
		}
	}
	ser, err := wire.Negotiate(params.Get("vsn"))
	if err != nil {
		emitRefused(lp.cfg.Hook, nameLongPoll, "version", http.StatusForbidden)
		logRefused(lp.log, w, r, nameLongPoll, "version", http.StatusForbidden, err)
		lpWriteStatus(w, http.StatusForbidden)
		return
	}
	// Over a limit: {"status":500}, which phoenix.js retries with backoff
	// (it throws on any status it does not know, 429 and 503 included).
	key, ok := lp.limits.acquire(r, func(int) { lpWriteStatus(w, http.StatusInternalServerError) })
	if !ok {
		return
	}
	info := &channel.ConnectInfo{
		Params:     params,
		Header:     r.Header,
		RemoteAddr: r.RemoteAddr,
		AuthToken:  r.Header.Get(lpHeaderAuthToken),
		Transport:  nameLongPoll,
	}
	start := time.Now()
	sess, err := lp.cfg.Socket.Connect(r.Context(), info, ser)
	if err != nil {
		emitRefused(lp.cfg.Hook, nameLongPoll, "refused", http.StatusForbidden)
		logRefused(lp.log, w, r, nameLongPoll, "refused", http.StatusForbidden, err)
		lpWriteStatus(w, http.StatusForbidden)
		return
	}
	id := newLPSessionID()
	s := newLPSession(lp, id, lp.signToken(id, time.Now().Add(lp.cfg.TokenMaxAge)), sess)
	s.clientKey = key // released by end
	if err := sess.Serve(context.WithoutCancel(r.Context()), s); err != nil {
		lp.limits.release(key)
		lp.log.Debug("longpoll serve", "remote", r.RemoteAddr, "err", err)
		sess.Close()
		lpWriteStatus(w, http.StatusInternalServerError) // phoenix.js retries
		return
	}
	took := time.Since(start)
	emitConnect(lp.cfg.Hook, nameLongPoll, ser.Version(), took)
	logConnected(lp.log, w, r, sess, nameLongPoll, took)
	s.arm()
	lp.mu.Lock()
	closed := lp.closed
	if !closed {
		lp.sessions[id] = s
	}
	lp.mu.Unlock()
	if closed {
		s.end("server shutting down", false)
		lpWriteStatus(w, http.StatusInternalServerError) // phoenix.js retries
		return
	}
	if s.isClosed() {
		// Closed (disconnected by id) before it was registered: end's
		// forget came too early. Its first poll gets 410.
		lp.forget(s)
	}
	lpWriteMessages(w, 410, s.token, nil)
}

func (lp *LongPoll) post(w http.ResponseWriter, r *http.Request) {
	req := lp.resolve(r)
	if req.owner != "" && lp.fwd != nil {
		lp.fwd.post(w, r, req)
		return
	}
	if req.sess == nil {
		lpWriteStatus(w, http.StatusGone)
		return
	}
	if !req.sess.waitFlow(r.Context(), lp.cfg.Window) {
		lp.limits.hit(&lp.limits.lpTimeoutHits, "queued bytes", req.sess.clientKey)
		lpWriteStatus(w, http.StatusRequestTimeout)
		return
	}
	body, ndjson, ok := lp.readBody(w, r)
	if !ok {
		return
	}
	err := req.sess.receive(body, ndjson, lp.cfg.MaxBatch)
	switch {
	case errors.Is(err, errLPSessionGone):
		lpWriteStatus(w, http.StatusGone)
	case err != nil:
		lp.log.Debug("longpoll bad frame", "session", req.sess.id, "err", err)
		lpWriteError(w, http.StatusBadRequest, err.Error())
	default:
		lpWriteStatus(w, http.StatusOK)
	}
}

// readBody reads a POST body within MaxBodySize and BodyTimeout, or
// answers the error and reports false.
func (lp *LongPoll) readBody(w http.ResponseWriter, r *http.Request) (body []byte, ndjson, ok bool) {
	lift := bodyDeadline(w, lp.cfg.BodyTimeout)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lp.cfg.MaxBodySize))
	if err == nil {
		lift() // after a failure, the deadline bounds reading the rest
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			lpWriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit))
			return nil, false, false
		}
		lpWriteError(w, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return body, mt == "application/x-ndjson", true
}

// forget removes s from the session table.
func (lp *LongPoll) forget(s *lpSession) {
	lp.mu.Lock()
	if lp.sessions[s.id] == s {
		delete(lp.sessions, s.id)
	}
	lp.mu.Unlock()
}

// Sessions returns how many sessions are open.
func (lp *LongPoll) Sessions() int {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return len(lp.sessions)
}

// Shutdown ends every session (their channels terminate with
// channel.ErrClosed, waiting polls get 410) and refuses new ones, then
// waits until the requests in progress are answered or ctx is done. Call
// it before, or alongside, http.Server.Shutdown (for instance from
// http.Server.RegisterOnShutdown): held polls would otherwise keep the
// HTTP server waiting for up to Window.
func (lp *LongPoll) Shutdown(ctx context.Context) error {
	lp.mu.Lock()
	lp.closed = true
	all := make([]*lpSession, 0, len(lp.sessions))
	for _, s := range lp.sessions {
		all = append(all, s)
	}
	lp.mu.Unlock()
	for _, s := range all {
		s.end("server shutting down", false)
	}
	if lp.fwd != nil {
		if err := lp.fwd.close(ctx); err != nil {
			return err
		}
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for lp.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
