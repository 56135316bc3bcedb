package transport

import "github.com/suzaku-go/suzaku/wire"

// SplitLongPollBody exposes the POST body parser to the fuzz test.
func SplitLongPollBody(body []byte, ndjson bool, maxBatch int, fn func(line int, f wire.Frame) error) error {
	return lpSplitBody(body, ndjson, maxBatch, fn)
}

// AppendLongPollString exposes the response string encoder to the fuzz test.
func AppendLongPollString(dst, s []byte) []byte { return lpAppendString(dst, s) }

// LongPollWaiting counts the sessions that have a poll waiting, so that
// tests start a race only once a poll is in place.
func LongPollWaiting(lp *LongPoll) int {
	lp.mu.Lock()
	all := make([]*lpSession, 0, len(lp.sessions))
	for _, s := range lp.sessions {
		all = append(all, s)
	}
	lp.mu.Unlock()
	n := 0
	for _, s := range all {
		s.mu.Lock()
		if s.waiter != nil {
			n++
		}
		s.mu.Unlock()
	}
	return n
}
