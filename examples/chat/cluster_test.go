package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/suzaku-go/suzaku/client"
)

// TestChatCluster runs two chat nodes on one data directory and one
// broker (a real Redis, then a real NATS server), with users on either
// node: room lists invalidated and pushed across nodes, messages,
// presence and typing across nodes, and a logout on one node that closes
// the user's tabs on both and revokes their token on both.
func TestChatCluster(t *testing.T) {
	t.Parallel()
	run := strconv.FormatUint(rand.Uint64(), 36)
	for _, bk := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"redis", func(t *testing.T) string {
			addr := os.Getenv("REDIS_ADDR")
			if addr == "" {
				addr = "127.0.0.1:6379"
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("no Redis at %s: %v", addr, err)
				}
				t.Skipf("no Redis at %s: %v", addr, err)
			}
			c.Close()
			return "redis://" + addr + "?cluster=chat" + run
		}},
		{"nats", func(t *testing.T) string {
			// Chat rooms are streams: over NATS their history is in JetStream.
			s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, JetStream: true, StoreDir: t.TempDir()})
			must(t, err)
			s.Start()
			t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
			if !s.ReadyForConnections(10 * time.Second) {
				t.Fatal("NATS server not ready")
			}
			return s.ClientURL()
		}},
	} {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			broker, dir := bk.url(t), t.TempDir()
			a, b := startChatNode(t, broker, dir, "a"), startChatNode(t, broker, dir, "b")
			ann := signup(t, a, "ann")
			bob := signup(t, b, "bob")
			bob.base = b
			ann.base = a

			// The room list is cached on b; a room created on a
			// invalidates it there, and b's lobby subscribers hear of it.
			resp, body := bob.do("GET", "/api/rooms", nil)
			equal(t, "rooms on b", len(body["items"].([]any)), 0)
			etag := resp.Header.Get("ETag")
			lobbyIn := &chatInbox{}
			bobLobby := chatDial(t, b, bob.token).Channel("rooms", nil)
			bobLobby.On("room_created", lobbyIn.add)
			bobLobby.On("invalidate", lobbyIn.add)
			_, err := bobLobby.Join(chatCtx(t))
			must(t, err)
			resp, room := ann.do("POST", "/api/rooms", map[string]string{"name": "lobby"})
			equal(t, "create on a", resp.StatusCode, 201)
			lobbyIn.wait(t, "room_created", `"lobby"`)
			chatEventually(t, func() error {
				resp, body := bob.do("GET", "/api/rooms", nil, "If-None-Match", etag)
				if resp.StatusCode != 200 || len(body["items"].([]any)) != 1 {
					return fmt.Errorf("rooms on b: %d %v, want 200 and the new room", resp.StatusCode, body)
				}
				return nil
			})

			topic := fmt.Sprintf("room:%d", int64(room["id"].(float64)))
			annTab := chatDial(t, a, ann.token)
			annRoom := annTab.Channel(topic, nil)
			annIn := &chatInbox{}
			for _, e := range []string{"new_msg", "typing", "presence_diff", "presence_state"} {
				annRoom.On(e, annIn.add)
			}
			_, err = annRoom.Join(chatCtx(t))
			must(t, err)
			bobRoom := chatDial(t, b, bob.token).Channel(topic, nil)
			bobIn := &chatInbox{}
			for _, e := range []string{"new_msg", "typing", "presence_diff", "presence_state"} {
				bobRoom.On(e, bobIn.add)
			}
			_, err = bobRoom.Join(chatCtx(t))
			must(t, err)
			annIn.wait(t, "presence_diff", `"bob"`) // bob, on b, joins ann's list on a
			bobIn.wait(t, "presence", `"ann"`)

			_, err = annRoom.Push(chatCtx(t), "new_msg", map[string]string{"body": "hi from a"})
			must(t, err)
			bobIn.wait(t, "new_msg", "hi from a")
			_, err = bobRoom.Push(chatCtx(t), "typing", map[string]bool{"typing": true})
			must(t, err)
			annIn.wait(t, "typing", `"bob"`)

			// ann has a tab on each node; logging out on b closes both.
			annTabB := chatDial(t, b, ann.token)
			resp, _ = ann.withBase(b).do("POST", "/api/logout", nil)
			equal(t, "logout on b", resp.StatusCode, 204)
			for name, s := range map[string]*client.Socket{"ann's tab on a": annTab, "ann's tab on b": annTabB} {
				chatEventually(t, func() error {
					if s.Connected() {
						return errors.New(name + " is still connected")
					}
					return nil
				})
			}
			// The token is revoked on both nodes: a had cached ann's token
			// generation; the logout on b dropped it there too.
			chatEventually(t, func() error {
				if resp, _ := ann.withBase(a).do("GET", "/api/rooms", nil); resp.StatusCode != 401 {
					return fmt.Errorf("ann's old token on a: %d, want 401", resp.StatusCode)
				}
				return nil
			})
		})
	}
}

func (c call) withBase(base string) call { c.base = base; return c }

// startChatNode runs a chat node until the test ends and returns its URL.
func startChatNode(t *testing.T, broker, dir, name string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, config{data: dir, web: dir + "/none", broker: broker, node: name}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	chatEventually(t, func() error { return a.cluster.Healthy(ctx) })
	return "http://" + ln.Addr().String()
}

func chatDial(t *testing.T, base, token string) *client.Socket {
	t.Helper()
	s, err := client.Dial(chatCtx(t), "ws"+strings.TrimPrefix(base, "http")+"/socket/websocket", &client.Config{AuthToken: token})
	must(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func chatCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func chatEventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chatInbox records what a channel receives.
type chatInbox struct {
	mu   sync.Mutex
	msgs []client.Message
}

func (b *chatInbox) add(m client.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

// wait waits for a message whose event starts with event and whose
// payload contains text.
func (b *chatInbox) wait(t *testing.T, event, text string) {
	t.Helper()
	chatEventually(t, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.msgs {
			if strings.HasPrefix(m.Event, event) && strings.Contains(string(m.Payload), text) {
				return nil
			}
		}
		seen, _ := json.Marshal(len(b.msgs))
		return fmt.Errorf("no %s with %s among %s messages", event, text, seen)
	})
}
