package client

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Defaults of [Config]. The timeout and the heartbeat interval are those of
// phoenix.js 1.8.
const (
	DefaultTimeout           = 10 * time.Second // phoenix.js timeout
	DefaultHeartbeatInterval = 30 * time.Second // phoenix.js heartbeatIntervalMs
	DefaultWriteTimeout      = 10 * time.Second
	DefaultReadBufferSize    = 4096
	// Vsn is the protocol version the client asks for with the vsn query
	// parameter: the V2 JSON and binary serializer.
	Vsn = "2.0.0"
)

// closeWait bounds how long Close waits for the server to answer a close
// frame before it drops the connection.
const closeWait = time.Second

// authTokenPrefix marks the subprotocol that carries the auth token, as
// phoenix.js sends it.
const authTokenPrefix = "base64url.bearer.phx."

// Config configures a [Socket]. A nil *Config and the zero value both mean
// defaults: no reconnect, a heartbeat every 30 s, 10 s timeouts.
type Config struct {
	// Params are sent as query parameters of the WebSocket URL (the
	// phoenix.js params option), before vsn=2.0.0. They reach the server's
	// connect callback. Parameters already in the URL are kept. A "vsn" key
	// is ignored: the client only speaks vsn 2.0.0.
	Params url.Values

	// AuthToken, when not empty, is sent as phoenix.js's authToken option
	// does: as the subprotocols ["phoenix", "base64url.bearer.phx."+token in
	// unpadded standard base64]. The server must answer with the "phoenix"
	// subprotocol. Unlike Params it stays out of URLs and access logs.
	AuthToken string

	// Header holds extra HTTP headers for the upgrade request, such as
	// Origin or Cookie.
	Header http.Header

	// Timeout is the default timeout of Join, Push, Send, Ping and of every
	// rejoin attempt; a context deadline replaces it for one call. It also
	// bounds each reconnect dial. Zero means DefaultTimeout (10 s, as
	// phoenix.js).
	Timeout time.Duration

	// HeartbeatInterval is how often the client sends
	// [null,ref,"phoenix","heartbeat",{}]: the first one an interval after
	// the connection opens, the next one an interval after each reply. A
	// heartbeat without a reply within another interval closes the
	// connection (and reconnects it if Reconnect is set). Zero means
	// DefaultHeartbeatInterval (30 s); a negative value disables heartbeats.
	// Phoenix drops connections idle for 60 s, so keep it under that.
	HeartbeatInterval time.Duration

	// Reconnect makes the socket reconnect when the connection is lost for
	// any reason other than Close, with ReconnectBackoff between attempts,
	// and rejoin every channel that was joined. When false, a lost
	// connection ends the socket: Done is closed and Err tells why.
	Reconnect bool

	// ReconnectBackoff gives the delay before reconnect attempt number tries
	// (1, 2, …). The count is reset when a connection opens. Nil means
	// DefaultReconnectBackoff.
	ReconnectBackoff func(tries int) time.Duration

	// RejoinBackoff gives the delay before rejoin attempt number tries of a
	// channel whose join failed, timed out or crashed (phx_error). The count
	// is reset when the channel joins. Nil means DefaultRejoinBackoff.
	RejoinBackoff func(tries int) time.Duration

	// NetDial, when set, opens the TCP connections, instead of a
	// net.Dialer. Load tools use it (or LocalAddr) to spread source
	// addresses and get past the ephemeral port limit of one address.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)

	// LocalAddr is the local address to dial from, such as
	// &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}. It is ignored when NetDial
	// is set. Nil lets the system choose.
	LocalAddr net.Addr

	// TLSConfig is used for wss:// and https:// URLs. Nil means defaults.
	TLSConfig *tls.Config

	// ReadBufferSize is the size of the connection's read buffer, in bytes.
	// Zero means DefaultReadBufferSize (4 KiB). Smaller buffers save memory
	// when a process holds thousands of connections.
	ReadBufferSize int

	// MaxMessageSize is the largest message the server may send, in bytes;
	// a larger one closes the connection. Zero means no limit.
	MaxMessageSize int64

	// WriteTimeout bounds one write to the connection; a write that takes
	// longer closes the connection. Zero means DefaultWriteTimeout (10 s);
	// a negative value disables it.
	WriteTimeout time.Duration

	// Logger receives debug logs (dropped outdated messages) and info logs
	// (connection lost, reconnects). Nil discards them.
	Logger *slog.Logger
}

// DefaultReconnectBackoff is phoenix.js's reconnectAfterMs: 10, 50, 100,
// 150, 200, 250, 500, 1000 and 2000 ms, then 5 s for every later try.
func DefaultReconnectBackoff(tries int) time.Duration {
	steps := [...]time.Duration{10, 50, 100, 150, 200, 250, 500, 1000, 2000}
	if tries >= 1 && tries <= len(steps) {
		return steps[tries-1] * time.Millisecond
	}
	return 5 * time.Second
}

// DefaultRejoinBackoff is phoenix.js's rejoinAfterMs: 1, 2 and 5 s, then
// 10 s for every later try.
func DefaultRejoinBackoff(tries int) time.Duration {
	steps := [...]time.Duration{1, 2, 5}
	if tries >= 1 && tries <= len(steps) {
		return steps[tries-1] * time.Second
	}
	return 10 * time.Second
}

// settings is a Config with its defaults filled in.
type settings struct {
	Config
	protocols []string
}

func newSettings(cfg *Config) *settings {
	s := &settings{}
	if cfg != nil {
		s.Config = *cfg
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.HeartbeatInterval == 0 {
		s.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = DefaultWriteTimeout
	}
	if s.ReadBufferSize <= 0 {
		s.ReadBufferSize = DefaultReadBufferSize
	}
	if s.ReconnectBackoff == nil {
		s.ReconnectBackoff = DefaultReconnectBackoff
	}
	if s.RejoinBackoff == nil {
		s.RejoinBackoff = DefaultRejoinBackoff
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.AuthToken != "" {
		s.protocols = []string{"phoenix", authTokenPrefix + b64(s.AuthToken)}
	}
	return s
}
