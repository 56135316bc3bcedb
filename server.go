package suzaku

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/thejerf/suture/v4"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/transport"
)

// Defaults of [Config].
const (
	DefaultAddr            = "127.0.0.1:4000"
	DefaultSocketPath      = "/socket"
	DefaultShutdownTimeout = 30 * time.Second
)

// Service is a long-lived part of the application (a broker connection, a
// presence tracker, a cache invalidator): it runs until ctx is done. The
// server restarts it, with backoff, when it returns an error or panics.
type Service interface {
	Serve(ctx context.Context) error
}

// Config configures a [Server]. The zero value serves 404s on DefaultAddr.
type Config struct {
	// Addr is the address Run listens on. Empty means DefaultAddr.
	Addr string
	// Handler serves everything that is not the socket: the JSON API, the
	// SPA. Nil answers 404.
	Handler http.Handler
	// Socket, when set, is served over WebSocket at SocketPath+"/websocket"
	// and over LongPoll at SocketPath+"/longpoll".
	Socket *channel.Socket
	// SocketPath is where phoenix.js connects (new Socket("/socket")).
	// Empty means DefaultSocketPath.
	SocketPath string
	// WebSocket tunes the WebSocket endpoint; its Socket field is set from
	// Socket.
	WebSocket transport.WebSocketConfig
	// LongPoll tunes the LongPoll endpoint, served at SocketPath+"/longpoll"
	// (phoenix.js's fallback); its Socket field is set from Socket. Set
	// DisableLongPoll to serve WebSocket only.
	LongPoll        transport.LongPollConfig
	DisableLongPoll bool
	// DisableMemoryTrim turns off the memory trim: by default, once the
	// process stops allocating after a burst (a wave of connections), the
	// server gives the heap the burst left behind back to the system
	// (trim.go), which cuts its idle RSS per connection by about a third.
	DisableMemoryTrim bool
	// Services run under a supervisor for the life of the server. They
	// start in order and stop in reverse order, after the sockets have
	// drained: list the broker before what uses it (presence, caches).
	Services []Service
	// ShutdownTimeout bounds the drain after the serve context is done.
	// Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// DrainDelay is how long the server goes on serving HTTP after the
	// serve context is done, before the drain closes its listener and its
	// sockets: meanwhile [Server.Healthy] reports [ErrDraining] (so a
	// readiness probe answers 503 and load balancers stop sending new
	// clients) and new socket connections are refused with 503. Zero means
	// no delay.
	DrainDelay time.Duration
	// TLS, when set, makes Run and Serve speak HTTPS with HTTP/2 and
	// HTTP/1.1 (ALPN). See [DevCertificate] for development.
	TLS *tls.Config
	// H2C serves HTTP/2 without TLS (prior knowledge) beside HTTP/1.1, for
	// a TLS-terminating proxy that speaks HTTP/2 to the server. WebSocket
	// always uses HTTP/1.1.
	H2C bool
	// ReadHeaderTimeout bounds reading a request's headers. Zero means 10 s.
	// There is no ReadTimeout or WriteTimeout: LongPoll holds requests for
	// its window and WebSocket connections live on; bodies are bounded by
	// size (package api) and by BodyTimeout instead.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Zero means
	// 120 s.
	IdleTimeout time.Duration
	// BodyTimeout bounds the reading of a request body, for every handler
	// (package api and LongPoll set their own, shorter, deadlines): a
	// client slower than that has its connection cut. Zero means
	// DefaultBodyTimeout (30 s); negative means none.
	BodyTimeout time.Duration
	// MaxHeaderBytes bounds request headers. Zero means 64 KiB.
	MaxHeaderBytes int
	// Logger receives the server's errors and supervision events. Nil
	// discards.
	Logger *slog.Logger
}

// Server serves one application: its socket endpoint, its HTTP handler and
// its services.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	ws   *transport.WebSocket
	lp   *transport.LongPoll
	http *http.Server

	mu       sync.Mutex
	fresh    map[net.Conn]struct{} // accepted, no request yet (see Shutdown)
	draining bool
	delaying bool // the serve context is done: Config.DrainDelay runs
}

// New validates cfg and builds the server. It starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.SocketPath == "" {
		cfg.SocketPath = DefaultSocketPath
	}
	cfg.SocketPath = "/" + strings.Trim(cfg.SocketPath, "/")
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, log: log, mux: http.NewServeMux()}
	if cfg.Socket != nil {
		wsCfg := cfg.WebSocket
		wsCfg.Socket = cfg.Socket
		if wsCfg.Logger == nil {
			wsCfg.Logger = log
		}
		ws, err := transport.NewWebSocket(wsCfg)
		if err != nil {
			return nil, fmt.Errorf("suzaku: %w", err)
		}
		s.ws = ws
		s.mux.Handle(cfg.SocketPath+"/websocket", s.refuseWhileDraining(ws))
		if !cfg.DisableLongPoll {
			lpCfg := cfg.LongPoll
			lpCfg.Socket = cfg.Socket
			if lpCfg.Logger == nil {
				lpCfg.Logger = log
			}
			if len(lpCfg.AllowedOrigins) == 0 && !lpCfg.InsecureSkipOriginCheck {
				lpCfg.AllowedOrigins = wsCfg.AllowedOrigins
				lpCfg.InsecureSkipOriginCheck = wsCfg.InsecureSkipOriginCheck
			}
			if lpCfg.TrustedProxies == nil {
				lpCfg.TrustedProxies = wsCfg.TrustedProxies
			}
			lp, err := transport.NewLongPoll(lpCfg)
			if err != nil {
				return nil, fmt.Errorf("suzaku: %w", err)
			}
			s.lp = lp
			s.mux.Handle(cfg.SocketPath+"/longpoll", s.refuseWhileDraining(lp))
		}
	}
	if cfg.Handler != nil {
		s.mux.Handle("/", cfg.Handler)
	}
	var handler http.Handler = s.mux
	switch {
	case cfg.BodyTimeout == 0:
		handler = bodyDeadlines(handler, DefaultBodyTimeout)
	case cfg.BodyTimeout > 0:
		handler = bodyDeadlines(handler, cfg.BodyTimeout)
	}
	s.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       orDefault(cfg.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		Protocols:         new(http.Protocols),
		ConnState:         s.connState,
	}
	if s.http.MaxHeaderBytes == 0 {
		s.http.MaxHeaderBytes = 64 << 10
	}
	s.http.Protocols.SetHTTP1(true)
	if cfg.TLS != nil {
		s.http.TLSConfig = cfg.TLS.Clone()
		s.http.Protocols.SetHTTP2(true)
	}
	if cfg.H2C {
		s.http.Protocols.SetUnencryptedHTTP2(true)
	}
	return s, nil
}

// ServeHTTP routes a request to the socket endpoint or the handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// WebSocket returns the WebSocket endpoint, or nil without a socket.
func (s *Server) WebSocket() *transport.WebSocket { return s.ws }

// LongPoll returns the LongPoll endpoint, or nil.
func (s *Server) LongPoll() *transport.LongPoll { return s.lp }

// Run listens on Config.Addr and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("suzaku: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then drains within
// Config.ShutdownTimeout. It runs Config.Services under a supervisor for as
// long. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Services outlive the serve context: they stop after the drain, in
	// reverse order, so that what channels do as they end (a goodbye
	// broadcast, a presence leave) still reaches the broker and the other
	// nodes. Each has its own supervisor, so that each can be waited for.
	type running struct {
		cancel context.CancelFunc
		done   <-chan error
	}
	svcs := make([]running, 0, len(s.cfg.Services))
	for i, svc := range s.cfg.Services {
		sctx, scancel := context.WithCancel(context.WithoutCancel(ctx))
		sup := suture.New(fmt.Sprintf("suzaku/%d", i), suture.Spec{
			EventHook: func(e suture.Event) { s.log.Warn("supervisor", "event", e.String()) },
		})
		sup.Add(svc)
		svcs = append(svcs, running{scancel, sup.ServeBackground(sctx)})
	}
	defer func() { // on a panic below, at least stop them
		for _, r := range svcs {
			r.cancel()
		}
	}()
	if !s.cfg.DisableMemoryTrim {
		tctx, tcancel := context.WithCancel(ctx)
		tdone := make(chan struct{})
		go func() { defer close(tdone); trimMemory(tctx, trimInterval, readHeapStats(), debug.FreeOSMemory) }()
		defer func() { tcancel(); <-tdone }()
	}

	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS != nil {
			errc <- s.http.ServeTLS(ln, "", "")
			return
		}
		errc <- s.http.Serve(ln)
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.drainDelay(errc, &serveErr)
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer scancel()
	err := s.Shutdown(sctx)
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	for i := len(svcs) - 1; i >= 0; i-- {
		svcs[i].cancel()
		if supErr := <-svcs[i].done; supErr != nil && !errors.Is(supErr, context.Canceled) {
			err = errors.Join(err, supErr)
		}
	}
	return errors.Join(serveErr, err)
}

// Shutdown drains the server: it stops accepting, waits for in-flight
// requests, closes every socket with 1012 so that clients reconnect, and
// waits for their channels to end (Terminate and exit hooks included).
// Serve stops Config.Services only after that.
func (s *Server) Shutdown(ctx context.Context) error {
	// http.Server.Shutdown waits up to 5 s for connections that never sent
	// a request (browsers and fetch open spare ones): close them now.
	s.mu.Lock()
	s.draining = true
	for c := range s.fresh {
		c.Close()
	}
	s.fresh = nil
	s.mu.Unlock()
	// Sockets first, alongside HTTP: held long polls would keep
	// http.Server.Shutdown waiting for a whole window.
	sockets := make(chan error, 1)
	go func() {
		var err error
		if s.lp != nil {
			err = s.lp.Shutdown(ctx)
		}
		if s.ws != nil {
			err = errors.Join(err, s.ws.Shutdown(ctx))
		}
		if s.cfg.Socket != nil && err == nil {
			err = s.cfg.Socket.Drained(ctx)
		}
		sockets <- err
	}()
	return errors.Join(s.http.Shutdown(ctx), <-sockets)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// connState keeps the connections that have not sent a request yet.
func (s *Server) connState(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		if s.draining {
			c.Close()
			return
		}
		if s.fresh == nil {
			s.fresh = make(map[net.Conn]struct{})
		}
		s.fresh[c] = struct{}{}
	default:
		delete(s.fresh, c)
	}
}
