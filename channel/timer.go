package channel

import (
	"sync"
	"time"
)

// timer sends a message to its channel after a delay, once or repeatedly.
// It holds no goroutine: time.AfterFunc runs it.
type timer struct {
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

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
	}
}

// After sends msg to the channel's HandleInfo once, after d. The timer ends
// with the channel.
func (c *Channel) After(d time.Duration, msg any) Timer { return c.schedule(d, msg, false) }

// Every sends msg to the channel's HandleInfo every d, until the channel
// ends or the timer is stopped (the seed's :timer.send_interval).
func (c *Channel) Every(d time.Duration, msg any) Timer { return c.schedule(d, msg, true) }

func (c *Channel) schedule(d time.Duration, msg any, repeat bool) Timer {
	t := &timer{}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return Timer{}
	}
	x := c.more()
	x.timers = append(x.timers, t)
	c.mu.Unlock()
	fire := func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped {
			return
		}
		if c.Send(msg) && repeat {
			t.t.Reset(d)
		}
	}
	t.mu.Lock()
	t.t = time.AfterFunc(d, fire)
	t.mu.Unlock()
	return Timer{t}
}
