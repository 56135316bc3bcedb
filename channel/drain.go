package channel

import (
	"context"
	"time"
)

// Drained waits until every channel of the socket has ended, Terminate and
// exit hooks included, or ctx is done. A server calls it after closing
// its connections and before stopping its services, so that what channels
// do as they end (a goodbye broadcast, a presence leave) still reaches the
// other nodes.
func (s *Socket) Drained(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.live.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
