package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// syncBuffer takes the child's concurrent writes.
type syncBuffer struct{ testutil.SyncBuffer }

// rounds returns the rounds the child reported complete, in order.
func (s *syncBuffer) rounds(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	dec := json.NewDecoder(bytes.NewReader(s.Bytes()))
	for dec.More() {
		var ev event
		testutil.Success(t, dec.Decode(&ev))
		if ev.Type == evRound {
			out = append(out, ev.Round)
		}
	}
	return out
}

func TestChildRoundsCompleteWithoutClosedConnections(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	ch := newChild(&out)
	var conns []*benchConn
	for range 3 {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		c := &benchConn{nc: a, br: bufio.NewReader(a)}
		c.joined.Store(true)
		conns = append(conns, c)
	}
	slow := &benchConn{nc: conns[0].nc, slow: true}
	ch.conns = append(conns, slow) // slow connections are not expected to read
	testutil.Equal(t, "expect", ch.reset(10, 3), int64(3))

	ch.deliver(10, 1, 2)
	ch.deliver(10, 1, 3)
	testutil.Equal(t, "rounds after 2 of 3", out.rounds(t), []int64(nil))
	ch.ended(conns[2], "eof") // the server closed the third: round 10 is complete
	testutil.Equal(t, "rounds after the close", out.rounds(t), []int64{10})
	ch.deliver(11, 1, 2)
	ch.deliver(11, 1, 3)
	ch.deliver(11, 1, 4) // a duplicate reports nothing more
	testutil.Equal(t, "rounds", out.rounds(t), []int64{10, 11})
	ch.deliver(99, 1, 2) // outside the reset's range

	st := ch.stats()
	testutil.Equal(t, "Expect (at the reset)", st.Expect, int64(3))
	testutil.Equal(t, "Deliveries", st.Deliveries, int64(6))
	testutil.Equal(t, "Stray", st.Stray, int64(1))
	testutil.Equal(t, "Latency.Count (strays excluded)", st.Latency.Count, int64(5))
	testutil.Equal(t, "Closed", st.Closed, map[string]int{"eof": 1})
	testutil.Equal(t, "round 10", st.Rounds[0], roundStats{Round: 10, Count: 2, First: 2, Last: 3})
	testutil.Equal(t, "round 12", st.Rounds[2], roundStats{Round: 12})
}
