package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/transport"
)

// Topic is the broker topic the nodes publish their figures on.
const Topic = "suzaku:dashboard"

// Defaults of [Config].
const (
	DefaultInterval  = time.Second
	DefaultHistory   = 120 // samples kept per node: two minutes at 1 s
	DefaultTicketTTL = 12 * time.Hour
)

// ErrUnauthorized is the error an Authorize callback returns to ask the
// browser for credentials: the answer is 401 with a Basic challenge. Any
// other error answers 403.
var ErrUnauthorized = errors.New("dashboard: unauthorized")

// Config configures [New]. Authorize and Metrics are required.
type Config struct {
	// Authorize admits a request to the dashboard (page, script, socket,
	// profiler) by returning nil. Return ErrUnauthorized to ask for
	// credentials (401), any other error to refuse (403). Required: New
	// refuses to build a dashboard anyone can open. See [BasicAuth].
	Authorize func(r *http.Request) error
	// Metrics is the application's metrics sink (the socket's hook), which
	// the figures are read from. Required.
	Metrics *metrics.Metrics
	// Broker carries every node's figures to every node's pages. Nil
	// keeps them on this node (a private in-memory broker).
	Broker pubsub.Broker
	// Node names this node on the page. Empty means "local".
	Node string
	// Presence, when set, adds its sizes to the figures.
	Presence interface{ Stats() presence.Stats }
	// Interval is how often each node publishes its figures. Zero means
	// DefaultInterval (1 s).
	Interval time.Duration
	// History is how many samples per node a node keeps for new pages.
	// Zero means DefaultHistory (120).
	History int
	// Secret signs the page's socket tickets; at least 32 bytes, the same
	// on every node behind one load balancer. Nil means a random secret
	// per process, right for one node or sticky sessions.
	Secret []byte
	// TicketTTL is how long a page may reconnect its socket with the
	// ticket it was served. Zero means DefaultTicketTTL (12 h).
	TicketTTL time.Duration
	// Profiling serves net/http/pprof under debug/pprof/ and the runtime
	// figures (every runtime/metrics sample, JSON) at runtime.json, behind
	// Authorize too. Default false.
	Profiling bool
	// Logger receives the dashboard's errors. Nil discards.
	Logger *slog.Logger
}

// Dashboard is the live view: an http.Handler to mount under a path of the
// application's choice (with http.StripPrefix), and a service to run
// (Serve) on every node.
type Dashboard struct {
	cfg    Config
	log    *slog.Logger
	broker pubsub.Broker
	mux    *http.ServeMux
	ws     *transport.WebSocket
	socket *channel.Socket
	secret []byte

	mu      sync.Mutex
	history map[string][]json.RawMessage // node → samples, oldest first
}

//go:embed assets
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/index.html"))

// New validates cfg and builds the dashboard. It starts nothing.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Authorize == nil {
		return nil, errors.New("dashboard: Config.Authorize is nil: the dashboard must be protected")
	}
	if cfg.Metrics == nil {
		return nil, errors.New("dashboard: Config.Metrics is nil")
	}
	if cfg.Node == "" {
		cfg.Node = "local"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = DefaultTicketTTL
	}
	secret := cfg.Secret
	switch {
	case secret == nil:
		secret = make([]byte, 32)
		rand.Read(secret)
	case len(secret) < 32:
		return nil, fmt.Errorf("dashboard: Config.Secret is %d bytes, want at least 32", len(secret))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Dashboard{cfg: cfg, log: log, broker: cfg.Broker, secret: secret, history: map[string][]json.RawMessage{}}
	if d.broker == nil {
		d.broker = pubsub.NewMemory(pubsub.MemoryConfig{Node: cfg.Node})
	}
	router := &channel.Router{}
	if err := router.Handle(Topic, func() channel.Handler { return viewer{d} }); err != nil {
		return nil, err
	}
	sock, err := channel.NewSocket(channel.Config{Router: router, Broker: d.broker, Logger: log, MaxChannels: 1})
	if err != nil {
		return nil, err
	}
	ws, err := transport.NewWebSocket(transport.WebSocketConfig{Socket: sock, Logger: log, MaxConns: 1000, MaxConnsPerIP: 100})
	if err != nil {
		return nil, err
	}
	d.socket, d.ws = sock, ws
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET /{$}", d.servePage)
	d.mux.Handle("GET /assets/", http.FileServerFS(assets))
	d.mux.Handle("/socket/websocket", d.socketGate(ws))
	if cfg.Profiling {
		d.mux.HandleFunc("/debug/pprof/", pprof.Index)
		d.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		d.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		d.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		d.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		d.mux.HandleFunc("GET /runtime.json", serveRuntime)
	}
	return d, nil
}

// ServeHTTP serves the dashboard. Mount it under a path with
// http.StripPrefix: mux.Handle("/ops/", http.StripPrefix("/ops", d)). A
// request that Authorize refuses gets 401 or 403, except the socket,
// which a valid ticket also admits.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "" { // the mount point without its slash: relative URLs need it
		http.Redirect(w, r, r.URL.RawPath+"./", http.StatusFound)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	if r.URL.Path != "/socket/websocket" {
		if err := d.cfg.Authorize(r); err != nil {
			refuse(w, err)
			return
		}
	}
	d.mux.ServeHTTP(w, r)
}

// socketGate admits the page's socket with Authorize or a valid ticket.
func (d *Dashboard) socketGate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.cfg.Authorize(r); err != nil && !d.validTicket(r.URL.Query().Get("ticket"), time.Now()) {
			refuse(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrUnauthorized) {
		w.Header().Set("WWW-Authenticate", `Basic realm="suzaku dashboard", charset="UTF-8"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	http.Error(w, "forbidden", http.StatusForbidden)
}

func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'")
	err := page.Execute(w, map[string]any{
		"Node":      d.cfg.Node,
		"Ticket":    d.ticket(time.Now().Add(d.cfg.TicketTTL)),
		"Interval":  d.cfg.Interval.Milliseconds(),
		"Profiling": d.cfg.Profiling,
	})
	if err != nil {
		d.log.Debug("dashboard page", "err", err)
	}
}

// ticket signs an expiry: "unixSeconds.mac".
func (d *Dashboard) ticket(exp time.Time) string {
	ts := strconv.FormatInt(exp.Unix(), 10)
	return ts + "." + d.mac(ts)
}

func (d *Dashboard) mac(ts string) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte("suzaku dashboard ticket " + ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (d *Dashboard) validTicket(t string, now time.Time) bool {
	ts, mac, ok := strings.Cut(t, ".")
	if !ok || len(t) > 128 {
		return false
	}
	exp, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(d.mac(ts)))
}

// BasicAuth returns an Authorize callback that admits HTTP Basic
// credentials user and password, compared in constant time, and asks the
// browser for them otherwise. An empty password admits nobody: configure
// one.
func BasicAuth(user, password string) func(r *http.Request) error {
	return func(r *http.Request) error {
		u, p, ok := r.BasicAuth()
		if !ok || password == "" {
			return ErrUnauthorized
		}
		okUser := subtle.ConstantTimeCompare([]byte(u), []byte(user))
		okPass := subtle.ConstantTimeCompare([]byte(p), []byte(password))
		if okUser&okPass != 1 {
			return ErrUnauthorized
		}
		return nil
	}
}

// Serve publishes this node's figures every Config.Interval and keeps
// every node's recent figures for new pages, until ctx is done; then it
// closes the pages' sockets. Run it as a service of the server.
func (d *Dashboard) Serve(ctx context.Context) error {
	col := (*collector)(d)
	if err := d.broker.Subscribe(ctx, Topic, col); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	defer d.broker.Unsubscribe(context.WithoutCancel(ctx), Topic, col)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = d.ws.Shutdown(sctx)
	}()
	s := newSampler(d)
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		b, err := json.Marshal(s.sample(ctx))
		if err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		if err := d.broker.Broadcast(ctx, &pubsub.Message{Topic: Topic, Event: "stats", Payload: b}); err != nil {
			d.log.Debug("dashboard publish", "err", err)
			col.keep(b) // the page of this node still sees this node
		}
	}
}

// collector keeps the samples every node publishes.
type collector Dashboard

// Deliver implements pubsub.Subscriber. It must not block: it appends
// under a mutex.
func (c *collector) Deliver(m *pubsub.Message) {
	if m.Event == "stats" {
		c.keep(m.Payload)
	}
}

func (c *collector) keep(payload []byte) {
	var head struct {
		Node string `json:"node"`
	}
	if json.Unmarshal(payload, &head) != nil || head.Node == "" || len(head.Node) > 200 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.history[head.Node]
	if len(h) >= c.cfg.History {
		h = append(h[:0], h[1:]...)
	}
	c.history[head.Node] = append(h, json.RawMessage(payload))
	if len(c.history) > 1000 { // bounded: a broker shared with something odd
		for n := range c.history {
			delete(c.history, n)
			break
		}
	}
}

// snapshotHistory copies the samples kept, for a join reply.
func (d *Dashboard) snapshotHistory() map[string][]json.RawMessage {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string][]json.RawMessage, len(d.history))
	for n, h := range d.history {
		out[n] = append([]json.RawMessage(nil), h...)
	}
	return out
}

// viewer is the channel of one page: its join reply carries the history;
// the samples then arrive as broadcasts on Topic.
type viewer struct{ d *Dashboard }

func (v viewer) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	return map[string]any{"node": v.d.cfg.Node, "interval_ms": v.d.cfg.Interval.Milliseconds(), "history": v.d.snapshotHistory()}, nil
}
