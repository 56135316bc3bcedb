package channel

// HeldTimers counts the timers c holds, for the test that they do not
// accumulate.
func HeldTimers(c *Channel) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.extra == nil {
		return 0
	}
	return len(c.extra.timers)
}
