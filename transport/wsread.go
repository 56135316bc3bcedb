package transport

import (
	"time"
)

// janitor closes idle connections and cuts closing handshakes that take too
// long. It runs while the endpoint has connections.
func (h *WebSocket) janitor(stop <-chan struct{}) {
	period := time.Second
	for _, d := range []time.Duration{h.cfg.IdleTimeout / 4, closeWait / 4} {
		if d < period {
			period = d
		}
	}
	t := time.NewTicker(period)
	defer t.Stop()
	var conns []*wsConn
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		conns = conns[:0]
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		now := time.Now().UnixNano()
		for _, c := range conns {
			c.expire(now)
		}
		clear(conns)
	}
}
