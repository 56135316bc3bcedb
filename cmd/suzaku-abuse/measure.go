package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// env is a running server under abuse.
type env struct {
	app  string
	addr string // host:port
	web  string // the chat's SPA folder (with a planted symlink)
	pid  int
}

func (e *env) base() string { return "http://" + e.addr }

type result struct {
	outcome string
	rss     [3]float64 // MiB: before, peak, after
	latency string
}

// measure starts a fresh server, a bystander and an RSS sampler, runs
// the abuse, lets the server settle, and stops it.
func measure(ctx context.Context, a abuse, bin string) (result, error) {
	e, stop, err := start(ctx, a.app, bin)
	if err != nil {
		return result{}, err
	}
	defer stop()
	var r result
	r.rss[0] = rss(e.pid)
	peak := make(chan float64, 1)
	sctx, scancel := context.WithCancel(ctx)
	go func() {
		max := 0.0
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rss(e.pid); v > max {
				max = v
			}
			select {
			case <-sctx.Done():
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	by, err := newBystander(ctx, e)
	if err != nil {
		scancel()
		return r, fmt.Errorf("bystander: %w", err)
	}
	by.run(sctx)
	r.outcome, err = a.run(ctx, e)
	if err != nil {
		r.outcome = "error: " + err.Error()
	}
	time.Sleep(2 * time.Second) // settle
	scancel()
	r.rss[1] = <-peak
	r.rss[2] = rss(e.pid)
	r.latency = by.summary()
	return r, nil
}

// start runs bin on a free port and waits for its "listening on" line.
func start(ctx context.Context, app, bin string) (*env, func(), error) {
	dir, err := os.MkdirTemp("", "suzaku-abuse-")
	if err != nil {
		return nil, nil, err
	}
	e := &env{app: app}
	args := []string{"-addr", "127.0.0.1:0"}
	if app == "chat" {
		e.web = filepath.Join(dir, "web")
		if err := plantSPA(e.web, dir); err != nil {
			return nil, nil, err
		}
		args = append(args, "-data", filepath.Join(dir, "data"), "-web", e.web)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	e.pid = cmd.Process.Pid
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
			e.addr, _, _ = strings.Cut(rest, " ")
			go io.Copy(io.Discard, out)
			return e, stop, nil
		}
	}
	stop()
	return nil, nil, errors.New("server exited before listening")
}

// plantSPA writes a one-page SPA with a symlink to a secret outside it.
func plantSPA(web, dir string) error {
	secret := filepath.Join(dir, "outside")
	if err := os.MkdirAll(secret, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secret, "passwd"), []byte("root:x:0:0:secret\n"), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(web, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<!doctype html><title>chat</title>"), 0o644); err != nil {
		return err
	}
	return os.Symlink(secret, filepath.Join(web, "etclink"))
}

// rss reads a process's resident set size, in MiB.
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// wsConn is a raw Phoenix V2 client.
type wsConn struct {
	nc  net.Conn
	ref int
}

func dialWS(ctx context.Context, e *env, query string, hdr http.Header) (*wsConn, error) {
	d := ws.Dialer{Timeout: 5 * time.Second}
	if hdr != nil {
		d.Header = ws.HandshakeHeaderHTTP(hdr)
	}
	nc, _, _, err := d.Dial(ctx, "ws://"+e.addr+"/socket/websocket?vsn=2.0.0&"+query)
	if err != nil {
		return nil, err
	}
	return &wsConn{nc: nc}, nil
}

func (c *wsConn) send(joinRef, topic, event string, payload any) (string, error) {
	c.ref++
	ref := strconv.Itoa(c.ref)
	var jr any
	if joinRef != "" {
		jr = joinRef
	}
	b, err := json.Marshal([]any{jr, ref, topic, event, payload})
	if err != nil {
		return "", err
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ref, wsutil.WriteClientText(c.nc, b)
}

// reply reads frames until the reply to ref, and returns its status and
// response.
func (c *wsConn) reply(ref string, timeout time.Duration) (string, json.RawMessage, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	for {
		b, op, err := wsutil.ReadServerData(c.nc)
		if err != nil {
			return "", nil, err
		}
		if op != ws.OpText {
			continue
		}
		var f []json.RawMessage
		if json.Unmarshal(b, &f) != nil || len(f) != 5 {
			continue
		}
		var got string
		_ = json.Unmarshal(f[1], &got)
		if got != ref {
			continue
		}
		var p struct {
			Status   string          `json:"status"`
			Response json.RawMessage `json:"response"`
		}
		_ = json.Unmarshal(f[4], &p)
		return p.Status, p.Response, nil
	}
}

func (c *wsConn) join(topic string, payload any) (string, json.RawMessage, error) {
	ref, err := c.send(strconv.Itoa(c.ref+1), topic, "phx_join", payload)
	if err != nil {
		return "", nil, err
	}
	return c.reply(ref, 10*time.Second)
}

// postJSON posts v and returns the status and the decoded body.
func postJSON(e *env, path, token string, v any) (int, map[string]any, http.Header, error) {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", e.base()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header, nil
}

// account signs a chat user up and returns its token.
func account(e *env, name string) (string, error) {
	st, body, _, err := postJSON(e, "/api/signup", "", map[string]string{"name": name, "password": "correct-horse-42"})
	if err != nil {
		return "", err
	}
	tok, _ := body["token"].(string)
	if st != 201 || tok == "" {
		return "", fmt.Errorf("signup %s: %d %v", name, st, body)
	}
	return tok, nil
}

// chatRoom creates a room and returns its id.
func chatRoom(e *env, token, name string) (int64, error) {
	st, body, _, err := postJSON(e, "/api/rooms", token, map[string]string{"name": name})
	if err != nil {
		return 0, err
	}
	id, _ := body["id"].(float64)
	if st != 201 {
		return 0, fmt.Errorf("create room: %d %v", st, body)
	}
	return int64(id), nil
}

// bystander is a client that does round trips every 50 ms while an abuse
// runs.
type bystander struct {
	c     *wsConn
	topic string
	event string
	mu    sync.Mutex
	rtts  []time.Duration
	fails int
	done  chan struct{}
}

func newBystander(ctx context.Context, e *env) (*bystander, error) {
	b := &bystander{done: make(chan struct{})}
	query := "user=bystander"
	if e.app == "chat" {
		tok, err := account(e, "bystander")
		if err != nil {
			return nil, err
		}
		query = "token=" + tok
	}
	c, err := dialWS(ctx, e, query, nil)
	if err != nil {
		return nil, err
	}
	b.c = c
	b.topic, b.event = "phoenix", "heartbeat"
	if e.app == "conformance" {
		b.topic, b.event = "room:bystander", "count"
		if st, _, err := c.join(b.topic, map[string]any{}); err != nil || st != "ok" {
			return nil, fmt.Errorf("join: %s %v", st, err)
		}
	}
	return b, nil
}

func (b *bystander) run(ctx context.Context) {
	go func() {
		defer close(b.done)
		defer b.c.nc.Close()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			start := time.Now()
			joinRef := ""
			if b.topic != "phoenix" {
				joinRef = "1"
			}
			ref, err := b.c.send(joinRef, b.topic, b.event, map[string]any{})
			if err == nil {
				_, _, err = b.c.reply(ref, 5*time.Second)
			}
			b.mu.Lock()
			if err != nil {
				b.fails++
			} else {
				b.rtts = append(b.rtts, time.Since(start))
			}
			b.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

func (b *bystander) summary() string {
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.rtts) == 0 {
		return fmt.Sprintf("no round trip (%d failed)", b.fails)
	}
	slices.Sort(b.rtts)
	q := func(p float64) float64 {
		return float64(b.rtts[int(p*float64(len(b.rtts)-1))].Microseconds()) / 1000
	}
	s := fmt.Sprintf("%.1f/%.1f/%.1f (n=%d)", q(0.5), q(0.99), q(1), len(b.rtts))
	if b.fails > 0 {
		s += fmt.Sprintf(" %d FAILED", b.fails)
	}
	return s
}
