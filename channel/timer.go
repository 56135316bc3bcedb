package channel

import (
	"sync"
	"time"
)

// timer sends a message to its channel after a delay, once or repeatedly.
// It holds no goroutine: time.AfterFunc runs it. The channel holds it
// (to stop it when the channel ends) only until it fires for the last
// time or is stopped, so that a channel calling After per message does not
// grow.
type timer struct {
	c       *Channel
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

// stop cancels t; it does not forget it (see Channel.forget).
func (t *timer) stop() {
	t.mu.Lock()
	t.stopped = true
	if t.t != nil {
		t.t.Stop()
	}
	t.mu.Unlock()
}

// Timer cancels a message scheduled with [Channel.After] or [Channel.Every].
type Timer struct{ t *timer }

// Stop cancels the timer. It is safe to call more than once.
func (t Timer) Stop() {
	if t.t != nil {
		t.t.stop()
		t.t.c.forget(t.t)
	}
}

// After sends msg to the channel's HandleInfo once, after d. The timer ends
// with the channel.
func (c *Channel) After(d time.Duration, msg any) Timer { return c.schedule(d, msg, false) }

// Every sends msg to the channel's HandleInfo every d, until the channel
// ends or the timer is stopped (the seed's :timer.send_interval).
func (c *Channel) Every(d time.Duration, msg any) Timer { return c.schedule(d, msg, true) }

func (c *Channel) schedule(d time.Duration, msg any, repeat bool) Timer {
	t := &timer{c: c}
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return Timer{}
	}
	x := c.more()
	if x.timers == nil {
		x.timers = make(map[*timer]struct{})
	}
	x.timers[t] = struct{}{}
	c.mu.Unlock()
	fire := func() {
		t.mu.Lock()
		if t.stopped {
			t.mu.Unlock()
			return
		}
		again := c.Send(msg) && repeat
		if again {
			t.t.Reset(d)
		} else {
			t.stopped = true
		}
		t.mu.Unlock()
		if !again {
			c.forget(t)
		}
	}
	t.mu.Lock()
	t.t = time.AfterFunc(d, fire)
	t.mu.Unlock()
	return Timer{t}
}

// forget drops t from the channel's timers.
func (c *Channel) forget(t *timer) {
	c.mu.Lock()
	if c.extra != nil {
		delete(c.extra.timers, t)
	}
	c.mu.Unlock()
}
