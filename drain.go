package suzaku

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrDraining is what [Server.Healthy] reports once the server drains.
var ErrDraining = errors.New("suzaku: draining")

// Draining reports whether the server has started to drain: its serve
// context is done (the DrainDelay phase) or Shutdown was called.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining || s.delaying
}

// Healthy reports [ErrDraining] once the server drains, and nil before: a
// readiness check (package health) for the node itself.
func (s *Server) Healthy(ctx context.Context) error {
	if s.Draining() {
		return ErrDraining
	}
	return nil
}

// drainDelay marks the server as draining and goes on serving for
// Config.DrainDelay, unless the HTTP server stops first.
func (s *Server) drainDelay(errc <-chan error, serveErr *error) {
	s.mu.Lock()
	s.delaying = true
	s.mu.Unlock()
	if s.cfg.DrainDelay <= 0 {
		return
	}
	s.log.Info("draining: unready, serving on", "delay", s.cfg.DrainDelay)
	t := time.NewTimer(s.cfg.DrainDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case err := <-errc:
		*serveErr = err
	}
}

// refuseWhileDraining answers new socket requests 503 while the server
// drains: the client retries, through the load balancer, on a node that
// is not going away.
func (s *Server) refuseWhileDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Draining() && isNewSocket(r) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "server draining", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isNewSocket reports whether r opens a connection: a WebSocket upgrade, or
// a LongPoll GET without a session token.
func isNewSocket(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	return r.Method == http.MethodGet && r.Header.Get("X-Phoenix-Longpoll-Token") == "" && r.URL.Query().Get("token") == ""
}
