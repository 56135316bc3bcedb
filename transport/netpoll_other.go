//go:build !linux

package transport

import (
	"errors"
	"syscall"
)

// eventLoop is Linux-only; elsewhere every connection has a reader
// goroutine.
type eventLoop struct{}

func newEventLoop() (*eventLoop, error) {
	return nil, errors.New("transport: no event loop on this platform")
}

func (l *eventLoop) add(c *wsConn) error {
	return errors.New("transport: no event loop on this platform")
}
func (l *eventLoop) remove(c *wsConn) {}
func (l *eventLoop) pause(c *wsConn)  {}
func (l *eventLoop) resume(c *wsConn) {}
func (l *eventLoop) close()           {}

// writeNow never writes off Linux: Send queues, and a goroutine writes.
func writeNow(raw syscall.RawConn, hdr, data []byte) (int, error) { return 0, nil }

const eventLoopSupported = false
