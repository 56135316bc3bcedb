package client

// BufferLen returns how many pushes wait for the channel's join.
func (ch *Channel) BufferLen() int {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	return len(ch.buffer)
}
