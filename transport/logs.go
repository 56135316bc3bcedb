package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/suzaku-go/suzaku/channel"
)

// headerRequestID is the header a proxy, or the api.RequestIDs
// middleware in front of the endpoint, puts the request id in.
const headerRequestID = "X-Request-ID"

// requestID returns the id of the request that opens a connection: the
// one the app's middleware gave it, or the proxy's, or a new random one.
// It is logged on the connect line, with the socket_id every later line
// carries.
func requestID(w http.ResponseWriter, r *http.Request) string {
	for _, id := range []string{w.Header().Get(headerRequestID), r.Header.Get(headerRequestID)} {
		if id != "" && len(id) <= 128 && printable(id) {
			return id
		}
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// logRefused logs a refused connection at Info, as Phoenix logs refused
// connects: a client that cannot connect is worth one line.
func logRefused(log *slog.Logger, w http.ResponseWriter, r *http.Request, transport, reason string, status int, err error) {
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String(channel.LogRequestID, requestID(w, r)), slog.String(channel.LogTransport, transport),
		slog.String(channel.LogReason, reason), slog.Int("status", status), slog.String(channel.LogRemote, r.RemoteAddr),
	}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "socket refused", attrs...)
}

// logConnected logs a new connection at Info with the time the app's
// Connect took.
func logConnected(log *slog.Logger, w http.ResponseWriter, r *http.Request, sess *channel.Session, transport string, took time.Duration) {
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, "socket connected",
		slog.String(channel.LogSocketID, sess.SocketID()), slog.String(channel.LogRequestID, requestID(w, r)),
		slog.String(channel.LogTransport, transport), slog.String(channel.LogSerializer, sess.Serializer().Version()),
		slog.Duration(channel.LogDuration, took), slog.String(channel.LogRemote, r.RemoteAddr))
}

// logDisconnected logs the end of a connection at Info, with its close
// code (0 when the peer vanished) and its lifetime.
func logDisconnected(log *slog.Logger, sess *channel.Session, transport string, code int, born int64) {
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, "socket disconnected",
		slog.String(channel.LogSocketID, sess.SocketID()), slog.String(channel.LogTransport, transport),
		slog.Int(channel.LogCode, code), slog.Duration(channel.LogDuration, time.Duration(time.Now().UnixNano()-born)))
}
