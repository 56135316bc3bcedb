package channel

import (
	"context"
	"time"
)

// lifetime is a channel's context. It is done once the channel has ended
// or its session is closing, or once the session's context (the one given
// to [Session.Serve]) is done, whichever comes first; it carries that
// context's values and deadline. Unlike context.WithCancel it costs
// nothing until Done is called, which matters at one channel per idle
// connection. As the context package requires, Err is nil exactly while
// Done is open: Canceled when the channel ended, the session's error
// (Canceled or DeadlineExceeded) when that came first.
type lifetime struct{ c *Channel }

var _ context.Context = lifetime{}

func (l lifetime) parent() context.Context {
	if ctx := l.c.sess.ctx; ctx != nil {
		return ctx
	}
	return context.Background()
}

func (l lifetime) Deadline() (time.Time, bool) { return l.parent().Deadline() }

func (l lifetime) Done() <-chan struct{} {
	c := l.c
	parent := l.parent()
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.more()
	if x.done != nil {
		return x.done
	}
	x.done = make(chan struct{})
	switch {
	case x.ctxErr != nil:
		close(x.done)
	case c.dead || c.closing:
		c.endContextLocked(context.Canceled)
	case parent.Err() != nil:
		c.endContextLocked(parent.Err())
	case parent.Done() != nil:
		x.stopAfter = context.AfterFunc(parent, func() {
			c.mu.Lock()
			c.endContextLocked(parent.Err())
			c.mu.Unlock()
		})
	}
	return x.done
}

func (l lifetime) Err() error {
	c := l.c
	parent := l.parent()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.extra != nil && c.extra.ctxErr != nil:
		return c.extra.ctxErr
	case c.dead || c.closing:
		c.endContextLocked(context.Canceled)
	case parent.Err() != nil:
		c.endContextLocked(parent.Err())
	default:
		return nil
	}
	return c.extra.ctxErr
}

func (l lifetime) Value(key any) any { return l.parent().Value(key) }

func (l lifetime) String() string { return "channel " + l.c.topic }

// endContextLocked makes the channel's context done with err, once. Call
// it with c.mu held.
func (c *Channel) endContextLocked(err error) {
	x := c.more()
	if x.ctxErr != nil {
		return
	}
	x.ctxErr = err
	if x.done != nil {
		close(x.done)
	}
	if x.stopAfter != nil {
		x.stopAfter()
		x.stopAfter = nil
	}
}
