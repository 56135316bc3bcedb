package transport

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/internal/clientip"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Defaults of the connection limits of [WebSocketConfig] and
// [LongPollConfig].
const (
	DefaultMaxConns                 = 100_000 // WebSocket connections per endpoint (node)
	DefaultMaxConnsPerIP            = 1_000   // WebSocket connections per client address
	DefaultLongPollMaxSessions      = 100_000 // LongPoll sessions per endpoint (node)
	DefaultLongPollMaxSessionsPerIP = 100     // LongPoll sessions per client address
	limitLogWindow                  = 10 * time.Second
)

// LimitHits counts the connection limits hit by an endpoint.
type LimitHits struct {
	PerIP   uint64 // connections or sessions refused for their client address
	Total   uint64 // refused because the endpoint is full
	Paused  uint64 // WebSocket: closed with 1013 after PauseTimeout
	Timeout uint64 // LongPoll: POSTs answered 408 because the session was over its queue bound
}

// limitLog counts hits of one limit and logs them once per window.
type limitLog struct {
	n      atomic.Uint64
	logged atomic.Int64
}

func (l *limitLog) hit(log *slog.Logger, hook telemetry.Hook, transport, limit, client string) {
	n := l.n.Add(1)
	if hook != nil {
		hook.Event(telemetry.Event{Kind: telemetry.KindLimit, Pattern: limit, Transport: transport})
	}
	now := time.Now().UnixNano()
	last := l.logged.Load()
	if now-last < int64(limitLogWindow) || !l.logged.CompareAndSwap(last, now) {
		return
	}
	log.Warn("limit hit", "limit", limit, "transport", transport, "client", client, "total", n)
}

// connLimits is what an endpoint needs to count its clients.
type connLimits struct {
	log           *slog.Logger
	hook          telemetry.Hook
	transport     string
	resolver      *clientip.Resolver
	held          clientip.Counter
	perIP, total  int
	perIPHits     limitLog
	totalHits     limitLog
	pausedHits    limitLog
	lpTimeoutHits limitLog
}

func newConnLimits(log *slog.Logger, hook telemetry.Hook, transport string, trusted []string, perIP, total, defPerIP, defTotal int) (*connLimits, error) {
	res, err := clientip.NewResolver(trusted)
	if err != nil {
		return nil, err
	}
	if perIP == 0 {
		perIP = defPerIP
	}
	if total == 0 {
		total = defTotal
	}
	return &connLimits{log: log, hook: hook, transport: transport, resolver: res, perIP: perIP, total: total}, nil
}

// acquire counts a new connection of r's client, or answers the request
// (429 for a client over its limit, 503 for a full endpoint) and reports
// false. write answers with the transport's format.
func (l *connLimits) acquire(r *http.Request, write func(status int)) (string, bool) {
	key := clientip.Key(l.resolver.IP(r))
	switch l.held.Acquire(key, l.perIP, l.total) {
	case "":
		return key, true
	case "total":
		l.hit(&l.totalHits, "connections per node", key)
		emitRefused(l.hook, l.transport, "limit", http.StatusServiceUnavailable)
		write(http.StatusServiceUnavailable)
	default:
		l.hit(&l.perIPHits, "connections per client address", key)
		emitRefused(l.hook, l.transport, "limit", http.StatusTooManyRequests)
		write(http.StatusTooManyRequests)
	}
	return "", false
}

func (l *connLimits) release(key string) { l.held.Release(key) }

// hit counts, reports and (once per window) logs a hit of one limit.
func (l *connLimits) hit(ll *limitLog, limit, client string) {
	ll.hit(l.log, l.hook, l.transport, limit, client)
}

func (l *connLimits) hits() LimitHits {
	return LimitHits{PerIP: l.perIPHits.n.Load(), Total: l.totalHits.n.Load(),
		Paused: l.pausedHits.n.Load(), Timeout: l.lpTimeoutHits.n.Load()}
}

// LimitHits returns how many times the endpoint's limits were hit.
func (h *WebSocket) LimitHits() LimitHits { return h.limits.hits() }
