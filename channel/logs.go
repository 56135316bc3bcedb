package channel

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"strconv"
	"time"
)

// Log attribute keys of the socket's lifecycle lines, shared with the
// transports so that every line about one connection carries the same
// socket_id.
const (
	LogSocketID   = "socket_id"
	LogRequestID  = "request_id"
	LogTransport  = "transport"
	LogSerializer = "serializer"
	LogTopic      = "topic"
	LogDuration   = "duration"
	LogReason     = "reason"
	LogCode       = "code"
	LogRemote     = "remote"
)

// socketIDs makes connection ids unique across nodes without
// coordination: a random prefix per Socket, then a counter. A session
// keeps only its counter; the string is made when a line is logged.
type socketIDs struct {
	prefix string
	next   uint64 // atomic
}

func newSocketIDs() socketIDs {
	var b [4]byte
	rand.Read(b[:])
	return socketIDs{prefix: strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])), 36) + "-"}
}

// SocketID names this connection in logs: unique among the connections
// of every node, and stable for its life. Unlike [Session.ID], it is not
// the application's id of the user.
func (s *Session) SocketID() string {
	return s.sock.sids.prefix + strconv.FormatUint(s.seq, 36)
}

// logJoin logs the outcome of a join: Info for success and refusal (as
// Phoenix's JOINED lines), with the time Join took. Failures and crashes
// are logged at Error where they happen.
func (c *Channel) logJoin(start time.Time, refusal any) {
	log := c.sess.sock.log
	ctx := context.Background()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	var d time.Duration
	if !start.IsZero() {
		d = time.Since(start)
	}
	if refusal == nil {
		log.LogAttrs(ctx, slog.LevelInfo, "channel joined", slog.String(LogSocketID, c.sess.SocketID()),
			slog.String(LogTopic, c.topic), slog.Duration(LogDuration, d))
		return
	}
	log.LogAttrs(ctx, slog.LevelInfo, "channel join refused", slog.String(LogSocketID, c.sess.SocketID()),
		slog.String(LogTopic, c.topic), slog.Duration(LogDuration, d), slog.Any(LogReason, refusal))
}

// joinClock reads the clock for a join's duration when a hook or an Info
// log will use it.
func (s *Socket) joinClock() time.Time {
	if s.hook == nil && !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return time.Time{}
	}
	return time.Now()
}
