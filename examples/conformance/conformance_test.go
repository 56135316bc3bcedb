package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// These tests drive the conformance app in-process with the Go client, so
// that the server runs under the race detector with real sockets.

func startApp(t *testing.T) (wsURL string, post func(path string, body any) int) {
	t.Helper()
	a, err := newApp(options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testutil.Success(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
		srv.Close()
	})
	post = func(path string, body any) int {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		testutil.Success(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket", post
}

func dial(t *testing.T, wsURL, user string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, wsURL, &client.Config{
		Params:        url.Values{"user": {user}},
		Reconnect:     true,
		RejoinBackoff: func(int) time.Duration { return 10 * time.Millisecond },
	})
	testutil.Success(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func count(t *testing.T, ch *client.Channel) int {
	t.Helper()
	r, err := ch.Push(ctx5(t), "count", nil)
	testutil.Success(t, err)
	var n struct{ N int }
	testutil.Success(t, json.Unmarshal(r.Response, &n))
	return n.N
}

func TestConformanceCrashRejoins(t *testing.T) {
	t.Parallel()
	wsURL, _ := startApp(t)
	s := dial(t, wsURL, "ann")
	room := s.Channel("room:crash", nil)
	other := s.Channel("room:other", nil)
	errored := make(chan struct{}, 1)
	room.OnError(func(json.RawMessage) { errored <- struct{}{} })
	_, err := room.Join(ctx5(t))
	testutil.Success(t, err)
	_, err = other.Join(ctx5(t))
	testutil.Success(t, err)
	testutil.Equal(t, "count", count(t, room), 1)
	testutil.Equal(t, "count", count(t, room), 2)

	_ = room.Send(ctx5(t), "crash", nil)
	<-errored
	testutil.Equal(t, "other channel after the crash", count(t, other), 1)
	testutil.CheckFor(t, 5*time.Second, func() error {
		if st := room.State(); st != client.StateJoined {
			return fmt.Errorf("state %v", st)
		}
		return nil
	})
	testutil.Equal(t, "count after rejoin (fresh state)", count(t, room), 1)
}

func TestConformanceDisconnectByID(t *testing.T) {
	t.Parallel()
	wsURL, post := startApp(t)
	ann := dial(t, wsURL, "ann-dc")
	bob := dial(t, wsURL, "bob-dc")
	a := ann.Channel("room:dc", nil)
	b := bob.Channel("room:dc", nil)
	_, err := a.Join(ctx5(t))
	testutil.Success(t, err)
	_, err = b.Join(ctx5(t))
	testutil.Success(t, err)
	aErr := make(chan struct{}, 4)
	bErr := make(chan struct{}, 4)
	a.OnError(func(json.RawMessage) { aErr <- struct{}{} })
	b.OnError(func(json.RawMessage) { bErr <- struct{}{} })

	testutil.Equal(t, "disconnect", post("/api/disconnect", map[string]string{"id": "users_socket:ann-dc"}), 200)
	<-aErr // the connection went away
	testutil.CheckFor(t, 5*time.Second, func() error {
		if a.State() != client.StateJoined {
			return errors.New("not rejoined yet")
		}
		return nil
	})
	testutil.Equal(t, "rejoined count", count(t, a), 1)
	select {
	case <-bErr:
		t.Fatal("another user's socket was disconnected")
	default:
	}
	testutil.Equal(t, "bob unaffected", count(t, b), 1)
}

// TestConformanceMalformedFrame sends garbage on one connection while
// others keep working.
func TestConformanceMalformedFrame(t *testing.T) {
	t.Parallel()
	wsURL, post := startApp(t)
	good := dial(t, wsURL, "good")
	g := good.Channel("room:mal", nil)
	got := make(chan client.Message, 1)
	g.On("hello", func(m client.Message) { got <- m })
	_, err := g.Join(ctx5(t))
	testutil.Success(t, err)

	conn, resp, err := (&websocketDialer{}).dial(wsURL + "?vsn=2.0.0&user=bad")
	testutil.Success(t, err)
	testutil.Equal(t, "upgrade", resp, 101)
	code := conn.sendGarbage(t)
	if code == 1000 || code == 0 {
		t.Fatalf("close code %d for a malformed frame", code)
	}
	testutil.Equal(t, "broadcast", post("/api/broadcast", map[string]any{"topic": "room:mal", "event": "hello", "payload": map[string]int{"n": 1}}), 200)
	select {
	case m := <-got:
		testutil.Equal(t, "payload", string(m.Payload), `{"n":1}`)
	case <-time.After(5 * time.Second):
		t.Fatal("the good connection stopped receiving")
	}
}

// TestConformanceBusyChannelsSurviveCrash crashes channels while others
// on the same connections are busy.
func TestConformanceBusyChannelsSurviveCrash(t *testing.T) {
	t.Parallel()
	wsURL, _ := startApp(t)
	s := dial(t, wsURL, "busy")
	const n = 4
	chans := make([]*client.Channel, n)
	for i := range chans {
		chans[i] = s.Channel(fmt.Sprintf("room:busy%d", i), nil)
		_, err := chans[i].Join(ctx5(t))
		testutil.Success(t, err)
	}
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 1; j <= 30; j++ {
				r, err := chans[i].Push(ctx5(t), "count", nil)
				if err != nil {
					t.Errorf("channel %d push %d: %v", i, j, err)
					return
				}
				var c struct{ N int }
				_ = json.Unmarshal(r.Response, &c)
				if c.N != j {
					t.Errorf("channel %d: count %d, want %d", i, c.N, j)
					return
				}
			}
		}()
	}
	for range 5 {
		_ = chans[0].Send(ctx5(t), "crash", nil)
	}
	wg.Wait()
}
