package transport

import (
	"time"

	"github.com/suzaku-go/suzaku/channel"
)

// DefaultPauseTimeout is how long a connection may stay paused (see
// [WebSocketConfig].PauseTimeout).
const DefaultPauseTimeout = 30 * time.Second

var _ channel.ReadPauser = (*wsConn)(nil)

// PauseReading implements channel.ReadPauser: the session has too many of
// the client's messages waiting, so the connection stops being read. On
// the event loop its socket leaves epoll; a reader goroutine waits. The
// kernel's buffers fill up and TCP pushes back on the client.
func (c *wsConn) PauseReading() {
	c.mu.Lock()
	if c.finished || c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = true
	c.pausedAt = time.Now().UnixNano()
	loop := c.loop
	c.mu.Unlock()
	if loop != nil {
		loop.pause(c)
	}
}

// ResumeReading implements channel.ReadPauser: the channels caught up.
func (c *wsConn) ResumeReading() {
	c.mu.Lock()
	if !c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = false
	if c.resume != nil {
		close(c.resume)
		c.resume = nil
	}
	loop, finished := c.loop, c.finished
	c.mu.Unlock()
	if loop != nil && !finished {
		loop.resume(c)
	}
}

// waitResumed blocks a reader goroutine while the connection is paused.
func (c *wsConn) waitResumed() {
	c.mu.Lock()
	for c.readPaused && !c.finished {
		if c.resume == nil {
			c.resume = make(chan struct{})
		}
		ch := c.resume
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
	c.mu.Unlock()
}

// wakeReaderLocked releases a reader goroutine waiting in waitResumed;
// c.mu is held.
func (c *wsConn) wakeReaderLocked() {
	if c.resume != nil {
		close(c.resume)
		c.resume = nil
	}
}
