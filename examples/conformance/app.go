package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/dashboard"
	"github.com/suzaku-go/suzaku/health"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/transport"
)

// app is the conformance app: a suzaku server with the room:* and bench:*
// channels, presence, and a small JSON API.
type app struct {
	*suzaku.Server
	mux      *http.ServeMux
	socket   *channel.Socket
	presence *presence.Tracker
	cluster  *cluster.Cluster
}

// options are the command line's settings.
type options struct {
	addr   string // listen address, for the default node name
	broker string // broker URL: memory, redis://…, nats://…
	node   string // node name; empty means cluster.DefaultNode(addr)

	drainDelay time.Duration // suzaku.Config.DrainDelay
	// dashboardPassword, when set, serves the live dashboard at /ops/ to
	// the Basic credentials ops:dashboardPassword.
	dashboardPassword string
	pprof             bool   // profiling under the dashboard (/ops/debug/pprof/)
	secret            string // shared by the nodes: signs LongPoll tokens; empty means devSecret
}

// devSecret signs LongPoll session tokens when no secret is given, so that
// the nodes of a test cluster share one. A deployment sets its own.
const devSecret = "suzaku-conformance-dev-secret-do-not-deploy"

func newApp(opts options, log *slog.Logger) (*app, error) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		return nil, err
	}
	c, err := cluster.New(cluster.Config{Broker: opts.broker, Node: opts.node, Addr: opts.addr, Logger: log, Hook: m})
	if err != nil {
		return nil, err
	}
	log = c.Logger() // every line names the node, once
	broker, tracker := c.Broker(), c.Presence()
	a := &app{mux: http.NewServeMux(), presence: tracker, cluster: c}
	router := &channel.Router{}
	if err := router.Handle("room:*", func() channel.Handler { return &room{presence: tracker} }); err != nil {
		return nil, err
	}
	if err := router.Handle("bench:*", func() channel.Handler { return bench{} }); err != nil {
		return nil, err
	}
	if err := router.HandleStream("stream:*", func() channel.Handler { return streamTopic{} }, streamLimits); err != nil {
		return nil, err
	}
	a.socket, err = channel.NewSocket(channel.Config{
		Router:  router,
		Broker:  broker,
		Streams: c.Streams(), // history and offsets of the cluster
		Connect: connect,
		ID:      func(a any) string { return "users_socket:" + a.(*user).name },
		// A test target: e2e tests and the load tool flood it on purpose.
		Limits: channel.GenerousLimits(),
		Logger: log,
		Hook:   m,
	})
	if err != nil {
		return nil, err
	}
	a.mux.Handle("GET /metrics", m)
	probe := health.New(health.Config{Logger: log})
	probe.Mount(a.mux)
	a.mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "node": c.Node()})
	})
	a.mux.HandleFunc("POST /api/broadcast", a.broadcast)
	a.mux.HandleFunc("POST /api/disconnect", a.disconnect)
	services := []suzaku.Service{c}
	if opts.dashboardPassword != "" {
		d, err := dashboard.New(dashboard.Config{
			Authorize: dashboard.BasicAuth("ops", opts.dashboardPassword),
			Metrics:   m, Broker: broker, Node: c.Node(), Presence: tracker,
			Profiling: opts.pprof, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		a.mux.Handle("/ops/", http.StripPrefix("/ops", d))
		services = append(services, d)
	}
	a.Server, err = suzaku.New(suzaku.Config{
		Handler: api.Telemetry(m)(a.mux),
		Socket:  a.socket,
		// A test target: the load tool opens ~15,000 connections from
		// 127.0.0.x, and e2e tests open many LongPoll sessions.
		WebSocket:  transport.WebSocketConfig{InsecureSkipOriginCheck: true, MaxConns: -1, MaxConnsPerIP: -1},
		LongPoll:   transport.LongPollConfig{MaxSessions: -1, MaxSessionsPerIP: -1, Secret: []byte(cmp.Or(opts.secret, devSecret))},
		Services:   services,
		Logger:     log,
		DrainDelay: opts.drainDelay,
	})
	if err != nil {
		return nil, err
	}
	probe.Check("server", a.Server) // unready while draining
	probe.Check("cluster", c)       // unready while the broker is unreachable
	return a, nil
}

// connect accepts any non-empty user but "reject".
func connect(ctx context.Context, info *channel.ConnectInfo) (any, error) {
	name := info.Params.Get("user")
	if name == "" || name == "reject" {
		return nil, errors.New("connect refused")
	}
	return &user{name: strings.Clone(name)}, nil // not a view into the request line
}

func (a *app) broadcast(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Topic   string          `json:"topic"`
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := decode(w, r, &body); err != nil || body.Topic == "" || body.Event == "" || !isObject(body.Payload) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"topic": string, "event": string, "payload": object}`})
		return
	}
	if err := a.socket.Broadcast(r.Context(), body.Topic, body.Event, body.Payload); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (a *app) disconnect(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	if err := decode(w, r, &body); err != nil || body.ID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"id": string}`})
		return
	}
	if err := a.socket.Disconnect(r.Context(), body.ID); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	return dec.Decode(v)
}

func isObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
