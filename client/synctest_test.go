package client_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// These tests run in a synctest bubble, over in-memory pipes, so that the
// heartbeat and backoff schedules are checked to the millisecond with the
// defaults phoenix.js uses.

const (
	pipeURL  = "ws://fake/socket/websocket"
	interval = client.DefaultHeartbeatInterval
)

func TestClientHeartbeatSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newPipeServer(t)
		s, err := client.Dial(t.Context(), pipeURL, &client.Config{NetDial: fs.pipeDial})
		testutil.Success(t, err)
		defer s.Close()
		start := time.Now()

		heartbeats := func() int {
			synctest.Wait()
			return len(fs.messages(wire.EventHeartbeat))
		}
		// The first heartbeat an interval after the open, the next one an
		// interval after each reply.
		time.Sleep(interval - time.Millisecond)
		testutil.Equal(t, "heartbeats before 30s", heartbeats(), 0)
		time.Sleep(time.Millisecond)
		testutil.Equal(t, "heartbeats at 30s", heartbeats(), 1)
		hb := fs.messages(wire.EventHeartbeat)[0].m
		testutil.Equal(t, "heartbeat", hb, wire.Message{Ref: hb.Ref, Topic: "phoenix", Event: "heartbeat", Payload: []byte("{}")})
		time.Sleep(interval)
		testutil.Equal(t, "heartbeats at 60s", heartbeats(), 2)

		// A heartbeat without a reply for an interval closes the
		// connection with 1000; without Reconnect the socket ends.
		fs.ignoreHeartbeats.Store(true)
		time.Sleep(interval)
		testutil.Equal(t, "heartbeats at 90s", heartbeats(), 3)
		testutil.Equal(t, "Connected() at 90s", s.Connected(), true)
		time.Sleep(interval)
		synctest.Wait()
		testutil.Equal(t, "Connected() at 120s", s.Connected(), false)
		testutil.Equal(t, "server close codes", fs.codes(), []int{int(ws.StatusNormalClosure)})
		testutil.ErrorIs(t, s.Err(), client.ErrClosed)
		testutil.Equal(t, "elapsed", time.Since(start), 4*interval)
	})
}

func TestClientHeartbeatTimeoutReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newPipeServer(t)
		fs.ignoreHeartbeats.Store(true)
		s, err := client.Dial(t.Context(), pipeURL, &client.Config{NetDial: fs.pipeDial, Reconnect: true})
		testutil.Success(t, err)
		defer s.Close()
		ch := s.Channel("room:1", nil)
		var errs recorder
		ch.OnError(errs.raw)
		_, err = ch.Join(t.Context())
		testutil.Success(t, err)
		first := ch.JoinRef()

		// Heartbeat at 30 s, timeout at 60 s, reconnect 10 ms later.
		time.Sleep(2 * interval)
		synctest.Wait()
		testutil.Equal(t, "OnError", errs.list(), []string{`{"source":"transport","reason":"heartbeat_timeout"}`})
		testutil.Equal(t, "State() after the timeout", ch.State(), client.StateErrored)
		fs.ignoreHeartbeats.Store(false)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		testutil.Equal(t, "connections", fs.connCount(), 2)
		testutil.Equal(t, "State() after the reconnect", ch.State(), client.StateJoined)
		if ch.JoinRef() == first {
			t.Fatalf("JoinRef() = %s after the rejoin, want a new one", first)
		}
	})
}

func TestClientReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newPipeServer(t)
		s, err := client.Dial(t.Context(), pipeURL, &client.Config{NetDial: fs.pipeDial, Reconnect: true})
		testutil.Success(t, err)
		defer s.Close()
		ch := s.Channel("room:1", nil)
		_, err = ch.Join(t.Context())
		testutil.Success(t, err)

		// The server goes away and refuses connections for a while.
		fs.refuse.Store(1)
		lost := time.Now()
		fs.closeAll(ws.StatusGoingAway)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		var delays []time.Duration
		prev := lost
		for _, d := range fs.dialTimes()[1:] {
			delays = append(delays, d.Sub(prev))
			prev = d
		}
		ms := func(n ...int) (out []time.Duration) {
			for _, v := range n {
				out = append(out, time.Duration(v)*time.Millisecond)
			}
			return out
		}
		// phoenix.js's reconnectAfterMs.
		testutil.Equal(t, "reconnect delays", delays, ms(10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000, 5000))

		// Once it opens, the tries start over.
		fs.refuse.Store(0)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		testutil.Equal(t, "State()", ch.State(), client.StateJoined)
		n := len(fs.dialTimes())
		lost = time.Now()
		fs.closeAll(ws.StatusGoingAway)
		time.Sleep(time.Second)
		synctest.Wait()
		dials := fs.dialTimes()
		testutil.Equal(t, "dials after the second loss", len(dials), n+1)
		testutil.Equal(t, "first delay after the second loss", dials[n].Sub(lost), 10*time.Millisecond)
	})
}

func TestClientRejoinBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := newPipeServer(t)
		s, err := client.Dial(t.Context(), pipeURL, &client.Config{NetDial: fs.pipeDial, HeartbeatInterval: -1})
		testutil.Success(t, err)
		defer s.Close()
		ch := s.Channel("denied:1", nil)
		_, err = ch.Join(t.Context())
		testutil.ErrorIs(t, err, client.ErrJoinRefused)
		time.Sleep(35 * time.Second)
		synctest.Wait()
		var delays []time.Duration
		for i := 1; i < len(fs.messages(wire.EventJoin)); i++ {
			delays = append(delays, joinTime(fs, i).Sub(joinTime(fs, i-1)))
		}
		// phoenix.js's rejoinAfterMs: 1, 2, 5, then 10 s.
		testutil.Equal(t, "rejoin delays", delays, []time.Duration{
			time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second,
		})
		testutil.Success(t, ch.Leave(t.Context()))
	})
}

// joinTime returns when the server got join number i.
func joinTime(fs *fakeServer, i int) time.Time {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := -1
	for _, m := range fs.msgs {
		if m.m.Event == wire.EventJoin {
			n++
			if n == i {
				return m.at
			}
		}
	}
	panic(fmt.Sprintf("no join %d", i))
}
