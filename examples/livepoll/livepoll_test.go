package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel/channeltest"
)

func TestMain(m *testing.M) { channeltest.Main(m) }

// node starts the app on a free port and returns its URL and a channel
// test harness on its socket configuration.
func node(t *testing.T, cfg config) (*app, string) {
	t.Helper()
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, stop := context.WithCancel(context.Background())
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		stop()
		<-done
		a.Close()
	})
	return a, "http://" + ln.Addr().String()
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func signup(t *testing.T, base, name string) string {
	t.Helper()
	status, body := post(t, base+"/api/signup", "", map[string]string{"name": name, "password": "correct-horse"})
	if status != 200 {
		t.Fatalf("signup %s: %d %v", name, status, body)
	}
	return body["token"].(string)
}

func TestLivepollAPI(t *testing.T) {
	t.Parallel()
	_, base := node(t, config{addr: "127.0.0.1:0", data: t.TempDir()})
	tok := signup(t, base, "ann")
	if status, _ := post(t, base+"/api/signup", "", map[string]string{"name": "ann", "password": "correct-horse"}); status != 409 {
		t.Errorf("duplicate signup: %d, want 409", status)
	}
	if status, _ := post(t, base+"/api/login", "", map[string]string{"name": "ann", "password": "wrong-horse"}); status != 401 {
		t.Errorf("wrong password: %d, want 401", status)
	}
	if status, _ := post(t, base+"/api/login", "", map[string]string{"name": "ann", "password": "correct-horse"}); status != 200 {
		t.Errorf("login: %d, want 200", status)
	}
	if status, _ := post(t, base+"/api/polls", "", map[string]any{"question": "?", "options": []string{"a", "b"}}); status != 401 {
		t.Errorf("poll without a token: %d, want 401", status)
	}
	if status, _ := post(t, base+"/api/polls", tok, map[string]any{"question": "?", "options": []string{"a"}}); status != 422 {
		t.Errorf("poll with one option: %d, want 422", status)
	}
	status, poll := post(t, base+"/api/polls", tok, map[string]any{"question": "Tabs or spaces?", "options": []string{"tabs", "spaces"}})
	if status != 201 {
		t.Fatalf("create poll: %d %v", status, poll)
	}
	url := fmt.Sprintf("%s/api/polls/%v", base, poll["id"])
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET poll: %v %v, want 200 with an ETag", resp, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 304 {
		t.Fatalf("conditional GET: %v %v, want 304", resp, err)
	}
	resp.Body.Close()
	if resp, err = http.Get(base + "/api/polls/999"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown poll: %v %v, want 404", resp, err)
	}
	resp.Body.Close()
}

// TestLivepollVotes votes on one node and sees the tally and presence on
// another: over Redis when it answers (CI), else on one in-memory node.
func TestLivepollVotes(t *testing.T) {
	t.Parallel()
	broker := "redis://127.0.0.1:6379?cluster=livepoll" + fmt.Sprint(rand.Int64())
	if c, err := net.Dial("tcp", "127.0.0.1:6379"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis unreachable in CI: %v", err)
		}
		broker = "memory"
	} else {
		c.Close()
	}
	dir, secret := t.TempDir(), "a secret of at least thirty-two bytes"
	a1, base1 := node(t, config{addr: "127.0.0.1:0", data: dir, broker: broker, node: "a", secret: secret})
	a2 := a1
	if broker != "memory" {
		a2, _ = node(t, config{addr: "127.0.0.1:0", data: dir, broker: broker, node: "b", secret: secret})
	}
	tok := signup(t, base1, "ann")
	_, poll := post(t, base1+"/api/polls", tok, map[string]any{"question": "Tabs or spaces?", "options": []string{"tabs", "spaces"}})
	topic := fmt.Sprintf("poll:%v", poll["id"])

	ann := channeltest.New(t, a1.socketConfig()).ConnectToken(tok)
	bobs := channeltest.New(t, a2.socketConfig())
	bob := bobs.ConnectToken(signup(t, base1, "bob"))
	bob.MustJoin(topic, nil)
	bob.AssertPush(topic, "presence_state", nil)
	ann.MustJoin(topic, nil)
	ann.AssertPush(topic, "presence_state", nil)
	channeltest.Eventually(t, 10*time.Second, func() error {
		for _, m := range bob.Received() {
			if m.Event == "presence_diff" && bytes.Contains(m.Payload, []byte(`"ann"`)) {
				return nil
			}
		}
		return fmt.Errorf("bob never saw ann join")
	})

	want := Poll{ID: int64(poll["id"].(float64)), Question: "Tabs or spaces?", Options: []string{"tabs", "spaces"}, Votes: []int{0, 1}}
	ref := ann.Push(topic, "vote", map[string]int{"option": 1})
	ann.AssertReply(ref, "ok", want)
	bob.AssertPush(topic, "tally", want)
	ref = ann.Push(topic, "vote", map[string]int{"option": 0})
	ann.AssertReply(ref, "error", map[string]string{"reason": "you already voted"})
	ref = ann.Push(topic, "vote", map[string]int{"option": 7})
	ann.AssertReply(ref, "error", map[string]string{"reason": "no such option"})
	if r := ann.Join("poll:999", nil); r.Status != "error" {
		t.Errorf("join of an unknown poll: %s", r.Status)
	}
}
