package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
)

func testApp(t *testing.T) (*app, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	a, err := newApp(context.Background(), config{data: dir, web: dir + "/none"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return a, srv
}

type call struct {
	t     *testing.T
	base  string
	token string
}

func (c call) do(method, path string, body any, hdr ...string) (*http.Response, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(c.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func signup(t *testing.T, base, name string) call {
	t.Helper()
	resp, body := call{t: t, base: base}.do("POST", "/api/signup", map[string]string{"name": name, "password": "secret-pw"})
	equal(t, "signup status", resp.StatusCode, 201)
	return call{t: t, base: base, token: body["token"].(string)}
}

func TestChatAccounts(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t)
	anon := call{t: t, base: srv.URL}
	signup(t, srv.URL, "ann")

	resp, body := anon.do("POST", "/api/signup", map[string]string{"name": "ann", "password": "other-pw"})
	equal(t, "duplicate", resp.StatusCode, 409)
	equal(t, "code", body["code"], any("name_taken"))
	equal(t, "content type", resp.Header.Get("Content-Type"), "application/problem+json")

	resp, body = anon.do("POST", "/api/signup", map[string]string{"name": "bad name!", "password": "x"})
	equal(t, "invalid", resp.StatusCode, 422)
	equal(t, "field errors", len(body["errors"].([]any)), 2)

	resp, body = anon.do("POST", "/api/login", map[string]string{"name": "ann", "password": "secret-pw"})
	equal(t, "login", resp.StatusCode, 200)
	equal(t, "user", body["user"].(map[string]any)["name"], any("ann"))
	resp, body = anon.do("POST", "/api/login", map[string]string{"name": "ann", "password": "wrong-pw"})
	equal(t, "bad password", resp.StatusCode, 401)
	equal(t, "code", body["code"], any("invalid_credentials"))
	resp, _ = anon.do("POST", "/api/login", map[string]string{"name": "nobody", "password": "secret-pw"})
	equal(t, "unknown user", resp.StatusCode, 401)

	resp, _ = anon.do("GET", "/api/rooms", nil)
	equal(t, "no token", resp.StatusCode, 401)
	resp, _ = call{t: t, base: srv.URL, token: "forged"}.do("GET", "/api/rooms", nil)
	equal(t, "bad token", resp.StatusCode, 401)
	resp, _ = anon.do("POST", "/api/signup", "not an object")
	equal(t, "bad JSON", resp.StatusCode, 400)
}

func TestChatRoomsCachedAndInvalidated(t *testing.T) {
	t.Parallel()
	_, srv := testApp(t)
	ann := signup(t, srv.URL, "ann")
	resp, body := ann.do("GET", "/api/rooms", nil)
	equal(t, "list", resp.StatusCode, 200)
	equal(t, "empty", len(body["items"].([]any)), 0)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the room list")
	}
	resp, _ = ann.do("GET", "/api/rooms", nil, "If-None-Match", etag)
	equal(t, "unchanged", resp.StatusCode, 304)

	resp, body = ann.do("POST", "/api/rooms", map[string]string{"name": "lobby"})
	equal(t, "create", resp.StatusCode, 201)
	equal(t, "name", body["name"], any("lobby"))
	resp, body = ann.do("POST", "/api/rooms", map[string]string{"name": "lobby"})
	equal(t, "exists", resp.StatusCode, 409)
	equal(t, "code", body["code"], any("room_exists"))

	resp, body = ann.do("GET", "/api/rooms", nil, "If-None-Match", etag)
	equal(t, "changed", resp.StatusCode, 200)
	equal(t, "one room", len(body["items"].([]any)), 1)
}

func TestChatHistoryPagination(t *testing.T) {
	t.Parallel()
	a, srv := testApp(t)
	ann := signup(t, srv.URL, "ann")
	room, err := a.store.CreateRoom(context.Background(), "lobby")
	must(t, err)
	for i := range 5 {
		_, err := a.store.AddMessage(context.Background(), room.ID, "ann", fmt.Sprint("m", i))
		must(t, err)
	}
	var bodies []string
	path := fmt.Sprintf("/api/rooms/%d/messages?limit=2", room.ID)
	for range 5 {
		resp, body := ann.do("GET", path, nil)
		equal(t, "status", resp.StatusCode, 200)
		for _, m := range body["items"].([]any) {
			bodies = append(bodies, m.(map[string]any)["body"].(string))
		}
		if body["next"] == nil {
			break
		}
		path = fmt.Sprintf("/api/rooms/%d/messages?limit=2&cursor=%s", room.ID, body["next"])
	}
	equal(t, "history, newest first", bodies, []string{"m4", "m3", "m2", "m1", "m0"})
	resp, _ := ann.do("GET", "/api/rooms/999/messages", nil)
	equal(t, "unknown room", resp.StatusCode, 404)
	resp, _ = ann.do("GET", fmt.Sprintf("/api/rooms/%d/messages?cursor=forged", room.ID), nil)
	equal(t, "bad cursor", resp.StatusCode, 400)
}

func TestChatRoomChannel(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	room, err := a.store.CreateRoom(context.Background(), "lobby")
	must(t, err)
	cfg, err := a.socketConfig(a.socket.Broker())
	must(t, err)
	h := channeltest.New(t, cfg)
	tok := func(name string) string {
		s, err := a.session(context.Background(), User{Name: name})
		must(t, err)
		return s.Token
	}
	ann := h.ConnectToken(tok("ann"))
	bob := h.ConnectToken(tok("bob"))
	_, err = h.TryConnectInfo(&channel.ConnectInfo{AuthToken: "forged"})
	mustFail(t, err)

	topic := fmt.Sprintf("room:%d", room.ID)
	r := ann.MustJoin(topic, nil)
	var joined struct {
		Epoch  string          `json:"epoch"`
		Offset uint64          `json:"offset"`
		Room   json.RawMessage `json:"room"`
	}
	must(t, r.Decode(&joined))
	equal(t, "join reply room", string(joined.Room), fmt.Sprintf(`{"id":%d,"name":"lobby","created_at":%d}`, room.ID, room.CreatedAt))
	if joined.Epoch == "" || joined.Offset != 0 {
		t.Fatalf("join reply = %s, want the room's stream position (an epoch, offset 0)", r.Response)
	}
	ann.AssertPush(topic, "presence_state", nil)
	bob.MustJoin(topic, nil)
	state := bob.AssertPush(topic, "presence_state", nil)
	var presences map[string]any
	must(t, json.Unmarshal(state.Payload, &presences))
	if presences["ann"] == nil || presences["bob"] == nil {
		t.Fatalf("presence_state = %s, want ann and bob", state.Payload)
	}
	equal(t, "not found", bob.Join("room:999", nil).Status, "error")

	ref := ann.Push(topic, "new_msg", map[string]string{"body": "hello"})
	reply := ann.AssertReply(ref, "ok", nil)
	var m struct{ Message Message }
	must(t, reply.Decode(&m))
	equal(t, "saved", m.Message.Body, "hello")
	if got := bob.AssertPush(topic, "new_msg", m.Message); got.Ref != "1" {
		t.Fatalf("new_msg ref = %q, want the stream offset 1", got.Ref)
	}
	// A tab that comes back with its position gets what it missed.
	carl := h.ConnectToken(tok("carl"))
	rejoin := carl.MustJoin(topic, map[string]any{"epoch": joined.Epoch, "offset": 0})
	var rec struct{ Recovered bool }
	must(t, rejoin.Decode(&rec))
	equal(t, "recovered", rec.Recovered, true)
	if got := carl.AssertPush(topic, "new_msg", m.Message); got.Ref != "1" {
		t.Fatalf("replayed new_msg ref = %q, want 1", got.Ref)
	}
	ref = ann.Push(topic, "new_msg", map[string]string{"body": "  "})
	ann.AssertReply(ref, "error", nil)

	ref = bob.Push(topic, "typing", map[string]bool{"typing": true})
	bob.AssertReply(ref, "ok", nil)
	ann.AssertPush(topic, "typing", map[string]any{"user": "bob", "typing": true})

	history, err := a.store.Messages(context.Background(), room.ID, 0, 10)
	must(t, err)
	equal(t, "persisted", len(history), 1)
}

// TestChatLogout closes every socket of the user who logs out, and only
// theirs.
func TestChatLogout(t *testing.T) {
	t.Parallel()
	a, srv := testApp(t)
	cfg, err := a.socketConfig(a.socket.Broker())
	must(t, err)
	cfg.Broker = a.socket.Broker()
	h := channeltest.New(t, cfg)
	ann := signup(t, srv.URL, "ann")
	bob := signup(t, srv.URL, "bob")
	annTab1 := h.ConnectToken(ann.token)
	annTab2 := h.ConnectToken(ann.token)
	bobTab := h.ConnectToken(bob.token)

	resp, _ := ann.do("POST", "/api/logout", nil)
	equal(t, "logout", resp.StatusCode, 204)
	channeltest.Eventually(t, 5*time.Second, func() error {
		if annTab1.CloseCode() != 1001 || annTab2.CloseCode() != 1001 {
			return fmt.Errorf("ann's tabs: close codes %d and %d, want 1001", annTab1.CloseCode(), annTab2.CloseCode())
		}
		return nil
	})
	equal(t, "bob's socket", bobTab.CloseCode(), 0)
	resp, _ = call{t: t, base: srv.URL}.do("POST", "/api/logout", nil)
	equal(t, "logout without a token", resp.StatusCode, 401)
}
