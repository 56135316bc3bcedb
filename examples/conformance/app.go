package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/transport"
)

// app is the conformance app's HTTP side: the socket and the JSON API.
type app struct {
	mux    *http.ServeMux
	socket *channel.Socket
	ws     *transport.WebSocket
	lp     *transport.LongPoll
}

func newApp(log *slog.Logger) (*app, error) {
	router := &channel.Router{}
	if err := router.Handle("room:*", func() channel.Handler { return &room{} }); err != nil {
		return nil, err
	}
	if err := router.Handle("bench:*", func() channel.Handler { return bench{} }); err != nil {
		return nil, err
	}
	socket, err := channel.NewSocket(channel.Config{
		Router:  router,
		Connect: connect,
		ID:      func(a any) string { return "users_socket:" + a.(*user).name },
		Logger:  log,
	})
	if err != nil {
		return nil, err
	}
	ws, err := transport.NewWebSocket(transport.WebSocketConfig{
		Socket:                  socket,
		InsecureSkipOriginCheck: true, // a test target: see CONFORMANCE.md
		Logger:                  log,
	})
	if err != nil {
		return nil, err
	}
	lp, err := transport.NewLongPoll(transport.LongPollConfig{
		Socket:                  socket,
		InsecureSkipOriginCheck: true,
		Logger:                  log,
	})
	if err != nil {
		return nil, err
	}
	a := &app{mux: http.NewServeMux(), socket: socket, ws: ws, lp: lp}
	a.mux.Handle("/socket/websocket", ws)
	a.mux.Handle("/socket/longpoll", lp)
	a.mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	a.mux.HandleFunc("POST /api/broadcast", a.broadcast)
	a.mux.HandleFunc("POST /api/disconnect", a.disconnect)
	return a, nil
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

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

// shutdown closes every socket and LongPoll session so that clients
// reconnect elsewhere.
func (a *app) shutdown(ctx context.Context) error {
	return errors.Join(a.ws.Shutdown(ctx), a.lp.Shutdown(ctx))
}
