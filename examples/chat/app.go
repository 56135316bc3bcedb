package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/dashboard"
	"github.com/suzaku-go/suzaku/health"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/static"
	"github.com/suzaku-go/suzaku/token"
	"github.com/suzaku-go/suzaku/transport"
)

type config struct {
	addr, web, data, dsn string
	broker, node         string        // cluster.Config.Broker and Node
	secret               string        // shared by the nodes: signs tokens; empty: a file in data
	drainDelay           time.Duration // suzaku.Config.DrainDelay
	h2c                  bool          // suzaku.Config.H2C
	dashboardPassword    string        // the live dashboard at /ops/ for user ops; empty: none
	pprof                bool          // profiling under the dashboard
	trustedProxies       []string      // proxies whose X-Forwarded-For names the client (per-address limits)
}

// app is the chat server: a suzaku.Server and what its handlers share.
type app struct {
	*suzaku.Server
	store     *Store
	tokens    *auth.Signed
	auth      *auth.Revocable // tokens, revoked by logout (revoke.go)
	gens      *cache.Memory   // token generations by user name
	passwords *auth.Passwords
	throttle  *auth.Throttle // logins
	roomRate  *auth.Throttle // room creations per user
	socket    *channel.Socket
	presence  *presence.Tracker
	rooms     *cache.Memory // the room list, tagged "rooms"
	cluster   *cluster.Cluster
	metrics   *metrics.Metrics
	log       *slog.Logger
}

func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	store, err := OpenStore(ctx, cfg.dsn, cfg.data)
	if err != nil {
		return nil, err
	}
	a := &app{store: store, log: log}
	if err := a.build(cfg); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build(cfg config) error {
	secret, err := []byte(cfg.secret), error(nil)
	switch {
	case cfg.secret == "":
		secret, err = loadSecret(cfg.data)
	case len(cfg.secret) < 32:
		err = errors.New("-secret: shorter than 32 bytes")
	}
	if err != nil {
		return err
	}
	signer, err := token.New(token.Config{Secret: secret, Salt: "user socket"})
	if err != nil {
		return err
	}
	if a.tokens, err = auth.NewSigned(auth.SignedConfig{Signer: signer}); err != nil {
		return err
	}
	if a.auth, err = auth.NewRevocable(auth.RevocableConfig{Authenticator: a.tokens, Issuer: a.tokens, Generation: a.generation}); err != nil {
		return err
	}
	if a.passwords, err = auth.NewPasswords(auth.PasswordsConfig{}); err != nil {
		return err
	}
	if a.throttle, err = auth.NewThrottle(auth.ThrottleConfig{TrustedProxies: cfg.trustedProxies}); err != nil {
		return err
	}
	if a.roomRate, err = auth.NewThrottle(auth.ThrottleConfig{Account: auth.Rate{Burst: 10, Every: 10 * time.Second}}); err != nil {
		return err
	}
	if a.metrics, err = metrics.New(metrics.Config{}); err != nil {
		return err
	}
	if a.cluster, err = cluster.New(cluster.Config{Broker: cfg.broker, Node: cfg.node, Addr: cfg.addr, Logger: a.log, Hook: a.metrics}); err != nil {
		return err
	}
	a.log = a.cluster.Logger() // every line names the node, once
	a.presence = a.cluster.Presence()
	socketCfg, err := a.socketConfig(a.cluster.Broker())
	if err != nil {
		return err
	}
	if a.socket, err = channel.NewSocket(socketCfg); err != nil {
		return err
	}
	if a.gens, err = a.cluster.NewCache(cache.Config{Name: "token_gens"}); err != nil {
		return err
	}
	notify := cache.Notifier{Broadcast: a.socket.Broadcast, Topic: "rooms"}
	if a.rooms, err = a.cluster.NewCache(cache.Config{Name: "rooms", Notify: notify.Notify, Hook: a.metrics}); err != nil {
		return err
	}
	spa, err := a.spa(cfg.web)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if err := a.routes(mux); err != nil {
		return err
	}
	mux.Handle("/", spa)
	mux.Handle("GET /metrics", a.metrics)
	services := []suzaku.Service{a.cluster}
	if cfg.dashboardPassword != "" {
		d, err := dashboard.New(dashboard.Config{
			Authorize: dashboard.BasicAuth("ops", cfg.dashboardPassword),
			Metrics:   a.metrics, Broker: a.cluster.Broker(), Node: a.cluster.Node(), Presence: a.cluster.Presence(),
			Profiling: cfg.pprof, Logger: a.log,
		})
		if err != nil {
			return err
		}
		mux.Handle("/ops/", http.StripPrefix("/ops", d))
		services = append(services, d)
	}
	probe := health.New(health.Config{Logger: a.log})
	probe.Mount(mux)
	a.Server, err = suzaku.New(suzaku.Config{
		Addr:       cfg.addr,
		Handler:    api.Chain(api.RequestIDs, api.Recover(a.log), api.AccessLog(a.log), api.Telemetry(a.metrics))(mux),
		Socket:     a.socket,
		WebSocket:  transport.WebSocketConfig{TrustedProxies: cfg.trustedProxies}, // LongPoll follows it
		LongPoll:   transport.LongPollConfig{Secret: derive(secret, "longpoll")},
		Services:   services,
		Logger:     a.log,
		DrainDelay: cfg.drainDelay,
		H2C:        cfg.h2c,
	})
	if err != nil {
		return err
	}
	probe.Check("server", a.Server) // unready while draining
	probe.Check("cluster", a.cluster)
	return nil
}

// socketConfig routes the chat's topics; connections authenticate with
// the API's token (phoenix.js's authToken option).
func (a *app) socketConfig(broker pubsub.Broker) (channel.Config, error) {
	router := &channel.Router{}
	if err := router.Handle("rooms", func() channel.Handler { return lobby{} }); err != nil {
		return channel.Config{}, err
	}
	// Rooms are streams: a tab that reconnects gets the messages it missed
	// (each carries its offset; the join says whether it recovered), with
	// no history request.
	if err := router.HandleStream("room:*", func() channel.Handler { return &roomChannel{app: a} }, roomHistory); err != nil {
		return channel.Config{}, err
	}
	return channel.Config{
		Router:  router,
		Broker:  broker,
		Streams: a.cluster.Streams(),
		Connect: auth.SocketConnect(a.auth), // revoked tokens are refused on reconnect
		ID:      auth.SocketID("users_socket"),
		Logger:  a.log,
		Hook:    a.metrics,
	}, nil
}

// spa serves the built SPA, or explains how to build it.
func (a *app) spa(dir string) (http.Handler, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		a.log.Warn("SPA not built: run `make chat` (or npm run build in examples/chat/web)", "dir", dir)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "The chat SPA is not built: run `make chat` from the repository root.", http.StatusServiceUnavailable)
		}), nil
	}
	fsys, err := static.Dir(dir) // os.OpenRoot: no symlink out of dir
	if err != nil {
		return nil, err
	}
	return static.New(static.Config{FS: fsys, Logger: a.log})
}

// Close releases the database and the cache.
func (a *app) Close() error {
	var err error
	if a.cluster != nil {
		err = a.cluster.Close()
	}
	return errors.Join(err, a.store.Close())
}

// derive returns a secret for one use (purpose) from the app's secret, so
// that the nodes sharing the data directory share it too.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// loadSecret reads the token secret from dir/secret, creating it on first
// start, so that tokens survive restarts.
func loadSecret(dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "secret")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, 32)
		rand.Read(b)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		return b, nil
	}
	if err == nil && len(b) < 32 {
		return nil, fmt.Errorf("%s: secret shorter than 32 bytes", path)
	}
	return b, err
}
