package channel

import (
	"context"
	"time"
)

// lifetime is a channel's context: done once the channel has ended, with
// the values of the session's context. Unlike context.WithCancel it costs
// nothing until Done is called, which matters at one channel per idle
// connection.
type lifetime struct{ c *Channel }

var _ context.Context = lifetime{}

func (l lifetime) Deadline() (time.Time, bool) { return l.c.sess.ctx.Deadline() }

func (l lifetime) Done() <-chan struct{} {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.more()
	if x.done == nil {
		x.done = make(chan struct{})
		if c.dead {
			close(x.done)
		}
	}
	return x.done
}

func (l lifetime) Err() error {
	c := l.c
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return context.Canceled
	}
	return c.sess.ctx.Err()
}

func (l lifetime) Value(key any) any { return l.c.sess.ctx.Value(key) }

func (l lifetime) String() string { return "channel " + l.c.topic }
