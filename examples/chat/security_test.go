package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
)

// TestSecurityChatRevokedReconnect logs a user out and replays their old
// token, as a reconnecting tab does: the API and the socket refuse it,
// while a fresh login works.
func TestSecurityChatRevokedReconnect(t *testing.T) {
	t.Parallel()
	a, srv := testApp(t)
	cfg, err := a.socketConfig(a.socket.Broker())
	must(t, err)
	h := channeltest.New(t, cfg)
	ann := signup(t, srv.URL, "ann")
	h.ConnectToken(ann.token)

	resp, _ := ann.do("POST", "/api/logout", nil)
	equal(t, "logout", resp.StatusCode, 204)
	resp, _ = ann.do("GET", "/api/rooms", nil)
	equal(t, "API with the revoked token", resp.StatusCode, 401)
	_, err = h.TryConnectInfo(&channel.ConnectInfo{AuthToken: ann.token})
	mustFail(t, err)

	resp, body := call{t: t, base: srv.URL}.do("POST", "/api/login", map[string]string{"name": "ann", "password": "secret-pw"})
	equal(t, "login again", resp.StatusCode, 200)
	fresh := call{t: t, base: srv.URL, token: body["token"].(string)}
	resp, _ = fresh.do("GET", "/api/rooms", nil)
	equal(t, "API with the new token", resp.StatusCode, 200)
	_, err = h.TryConnectInfo(&channel.ConnectInfo{AuthToken: fresh.token})
	must(t, err)
}

// TestSecurityChatAliasTopic refuses room:01 and room:+1, which would
// join room 1 under topics its live readers never hear.
func TestSecurityChatAliasTopic(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	room, err := a.store.CreateRoom(context.Background(), "lobby")
	must(t, err)
	cfg, err := a.socketConfig(a.socket.Broker())
	must(t, err)
	h := channeltest.New(t, cfg)
	s, err := a.session(context.Background(), User{Name: "ann"})
	must(t, err)
	ann := h.ConnectToken(s.Token)
	for _, alias := range []string{"room:0%d", "room:+%d", "room: %d", "room:%d.0"} {
		topic := fmt.Sprintf(alias, room.ID)
		equal(t, "join "+topic, ann.Join(topic, nil).Status, "error")
	}
	equal(t, "join the canonical topic", ann.Join(fmt.Sprintf("room:%d", room.ID), nil).Status, "ok")
}

// TestSecurityChatLoginThrottle guesses passwords: after 10 failures the
// account answers 429 with Retry-After, the right password included.
func TestSecurityChatLoginThrottle(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t)
	signup(t, srv.URL, "ann")
	anon := call{t: t, base: srv.URL}
	for i := range 10 {
		resp, _ := anon.do("POST", "/api/login", map[string]string{"name": "ann", "password": fmt.Sprintf("guess-%d", i)})
		equal(t, "wrong password", resp.StatusCode, 401)
	}
	resp, _ := anon.do("POST", "/api/login", map[string]string{"name": "ann", "password": "secret-pw"})
	equal(t, "11th attempt", resp.StatusCode, 429)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// TestSecurityChatPasswordLength refuses a 7-character password at
// signup.
func TestSecurityChatPasswordLength(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t)
	resp, body := call{t: t, base: srv.URL}.do("POST", "/api/signup", map[string]string{"name": "ann", "password": "1234567"})
	equal(t, "7 characters", resp.StatusCode, 422)
	equal(t, "field", body["errors"].([]any)[0].(map[string]any)["field"], any("password"))
}

// TestSecurityChatRoomSpam limits room creations per user: each makes
// every open SPA refetch the room list.
func TestSecurityChatRoomSpam(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t)
	ann := signup(t, srv.URL, "ann")
	for i := range 10 {
		resp, _ := ann.do("POST", "/api/rooms", map[string]string{"name": fmt.Sprintf("r%d", i)})
		equal(t, "create", resp.StatusCode, 201)
	}
	resp, _ := ann.do("POST", "/api/rooms", map[string]string{"name": "one-too-many"})
	equal(t, "11th room at once", resp.StatusCode, 429)
}

// TestSecurityChatTrustedProxies: behind a proxy named by -trusted-proxies,
// the login throttle counts each client address the proxy reports, not
// the proxy's own; X-Forwarded-For from anyone else is ignored.
func TestSecurityChatTrustedProxies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, _, err := parseConfig([]string{"-data", dir, "-web", dir + "/none", "-trusted-proxies", "127.0.0.1, 10.0.0.0/8"},
		func(string) (string, bool) { return "", false }, io.Discard)
	must(t, err)
	equal(t, "proxies", strings.Join(cfg.trustedProxies, " "), "127.0.0.1 10.0.0.0/8")
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	must(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(func() { srv.Close(); a.Close() })
	anon := call{t: t, base: srv.URL}
	login := func(i int, client string) int {
		resp, _ := anon.do("POST", "/api/login", map[string]string{"name": fmt.Sprint("nobody", i), "password": "wrong-password"},
			"X-Forwarded-For", client)
		return resp.StatusCode
	}
	// auth.DefaultIPRate: a burst of 30, then one every 2 s (slow runs
	// refill a few).
	i := 0
	for ; login(i, "203.0.113.1") != 429; i++ {
		if i == 100 {
			t.Fatal("100 attempts from one client, none throttled")
		}
	}
	if i < 30 {
		t.Errorf("throttled after %d attempts, want 30 or more", i)
	}
	equal(t, "first attempt from a second client", login(i+1, "203.0.113.2"), 401)

	_, _, err = parseConfig([]string{"-data", dir, "-trusted-proxies", "not-an-address"},
		func(string) (string, bool) { return "", false }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "trusted-proxies") {
		t.Errorf("a bad -trusted-proxies: %v", err)
	}
}
