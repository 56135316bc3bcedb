package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// abuse is one replay of the security review's list.
type abuse struct {
	name, app string
	run       func(ctx context.Context, e *env) (string, error)
}

var abuses = []abuse{
	{"flood", "conformance", flood},
	{"flood", "chat", flood},
	{"login-storm", "chat", loginStorm},
	{"guessing", "chat", guessing},
	{"login-timing", "chat", loginTiming},
	{"typing-flood", "chat", typingFlood},
	{"room-spam", "chat", roomSpam},
	{"logout-reconnect", "chat", logoutReconnect},
	{"slow-body", "chat", slowBody},
	{"alias-topic", "chat", aliasTopic},
	{"symlink", "chat", symlink},
	{"longpoll-sessions", "chat", longpollSessions},
	{"origin-port", "chat", originPort},
	{"short-password", "chat", shortPassword},
}

// closeCode reads until the server closes, and returns its close code (0
// for a cut connection, -1 if it stayed open for d).
func closeCode(c *wsConn, d time.Duration) int {
	c.nc.SetReadDeadline(time.Now().Add(d))
	for {
		h, err := ws.ReadHeader(c.nc)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return -1
			}
			return 0
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.nc, p); err != nil {
			return 0
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return int(code)
		}
	}
}

// flood blocks the flooder's channel, then sends 300 messages of 1 MB
// without reading: the server must not buffer 300 MB.
func flood(ctx context.Context, e *env) (string, error) {
	topic, query, event := "room:flood", "user=flooder", "echo"
	var block func(c *wsConn) error
	if e.app == "chat" {
		tok, err := account(e, "flooder")
		if err != nil {
			return "", err
		}
		id, err := chatRoom(e, tok, "flood")
		if err != nil {
			return "", err
		}
		topic, query, event = fmt.Sprintf("room:%d", id), "token="+tok, "typing"
		block = func(*wsConn) error { return nil }
	}
	c, err := dialWS(ctx, e, query, nil)
	if err != nil {
		return "", err
	}
	defer c.nc.Close()
	if st, _, err := c.join(topic, map[string]any{}); err != nil || st != "ok" {
		return "", fmt.Errorf("join %s: %s %v", topic, st, err)
	}
	if block == nil {
		if _, err := c.send("1", topic, "slow", map[string]int{"ms": 8000}); err != nil {
			return "", err
		}
	}
	body := strings.Repeat("x", 1_000_000)
	start := time.Now()
	sent := 0
	for range 300 {
		c.nc.SetWriteDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.send("1", topic, event, map[string]string{"b": body}); err != nil {
			break
		}
		sent++
	}
	took := time.Since(start)
	code := closeCode(c, 3*time.Second)
	return fmt.Sprintf("sent %d/300 MB in %.1fs; close %d", sent, took.Seconds(), code), nil
}

// loginStorm sends 60 wrong-password logins at once.
func loginStorm(ctx context.Context, e *env) (string, error) {
	if _, err := account(e, "victim"); err != nil {
		return "", err
	}
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, _, err := postJSON(e, "/api/login", "", map[string]string{"name": "victim", "password": "wrong-" + strconv.Itoa(i)})
			if err != nil {
				st = -1
			}
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return fmt.Sprintf("60 concurrent wrong logins: %v", counts), nil
}

// guessing tries 40 wrong passwords, then the right one.
func guessing(ctx context.Context, e *env) (string, error) {
	if _, err := account(e, "victim"); err != nil {
		return "", err
	}
	counts := map[int]int{}
	for i := range 40 {
		st, _, _, err := postJSON(e, "/api/login", "", map[string]string{"name": "victim", "password": "guess-" + strconv.Itoa(i)})
		if err != nil {
			return "", err
		}
		counts[st]++
	}
	st, _, hdr, err := postJSON(e, "/api/login", "", map[string]string{"name": "victim", "password": "correct-horse-42"})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("40 guesses: %v; then the right password: %d (Retry-After %q)", counts, st, hdr.Get("Retry-After")), nil
}

// loginTiming compares a wrong password for a known and an unknown name.
func loginTiming(ctx context.Context, e *env) (string, error) {
	if _, err := account(e, "known"); err != nil {
		return "", err
	}
	best := func(name string) time.Duration {
		b := time.Hour
		for i := range 5 {
			start := time.Now()
			_, _, _, _ = postJSON(e, "/api/login", "", map[string]string{"name": name, "password": "wrong-" + strconv.Itoa(i)})
			b = min(b, time.Since(start))
		}
		return b
	}
	k, u := best("known"), best("unknown")
	return fmt.Sprintf("wrong password: known name %.1f ms, unknown name %.1f ms", ms(k), ms(u)), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// typingFlood sends 100,000 typing events on one socket; a listener in
// the room counts what reaches it.
func typingFlood(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "typist")
	if err != nil {
		return "", err
	}
	ltok, err := account(e, "listener")
	if err != nil {
		return "", err
	}
	id, err := chatRoom(e, tok, "typing")
	if err != nil {
		return "", err
	}
	topic := fmt.Sprintf("room:%d", id)
	listener, err := dialWS(ctx, e, "token="+ltok, nil)
	if err != nil {
		return "", err
	}
	defer listener.nc.Close()
	if st, _, err := listener.join(topic, map[string]any{}); err != nil || st != "ok" {
		return "", fmt.Errorf("listener join: %s %v", st, err)
	}
	var got atomic.Int64
	go func() {
		for {
			listener.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, _, err := wsutil.ReadServerData(listener.nc)
			if err != nil {
				return
			}
			if strings.Contains(string(b), `"typing"`) {
				got.Add(1)
			}
		}
	}()
	c, err := dialWS(ctx, e, "token="+tok, nil)
	if err != nil {
		return "", err
	}
	defer c.nc.Close()
	if st, _, err := c.join(topic, map[string]any{}); err != nil || st != "ok" {
		return "", fmt.Errorf("join: %s %v", st, err)
	}
	go io.Copy(io.Discard, c.nc) // read replies, as a client would
	start := time.Now()
	sent := 0
	for range 100_000 {
		if _, err := c.send("1", topic, "typing", map[string]bool{"typing": true}); err != nil {
			break
		}
		sent++
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second)
	return fmt.Sprintf("sent %d in %.2fs; listener received %d", sent, took.Seconds(), got.Load()), nil
}

// roomSpam creates 300 rooms.
func roomSpam(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "spammer")
	if err != nil {
		return "", err
	}
	counts := map[int]int{}
	start := time.Now()
	for i := range 300 {
		st, _, _, err := postJSON(e, "/api/rooms", tok, map[string]string{"name": "spam" + strconv.Itoa(i)})
		if err != nil {
			return "", err
		}
		counts[st]++
	}
	return fmt.Sprintf("300 room creations in %.1fs: %v", time.Since(start).Seconds(), counts), nil
}

// logoutReconnect logs out and reconnects with the same token.
func logoutReconnect(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "leaver")
	if err != nil {
		return "", err
	}
	c, err := dialWS(ctx, e, "token="+tok, nil)
	if err != nil {
		return "", err
	}
	c.nc.Close()
	st, _, _, err := postJSON(e, "/api/logout", tok, nil)
	if err != nil {
		return "", err
	}
	again := "reconnect accepted (101)"
	if c2, err := dialWS(ctx, e, "token="+tok, nil); err != nil {
		again = "reconnect refused: " + err.Error()
	} else {
		c2.nc.Close()
	}
	req, _ := http.NewRequest("GET", e.base()+"/api/rooms", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return fmt.Sprintf("logout %d; %s; API with the old token %d", st, again, resp.StatusCode), nil
}

// slowBody feeds a login body one byte a second.
func slowBody(ctx context.Context, e *env) (string, error) {
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	fmt.Fprintf(nc, "POST /api/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", e.addr)
	start := time.Now()
	answered := make(chan string, 1)
	go func() {
		b := make([]byte, 64)
		n, _ := nc.Read(b)
		line, _, _ := strings.Cut(string(b[:n]), "\r\n")
		answered <- line
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case line := <-answered:
			return fmt.Sprintf("cut after %.1fs (%q)", time.Since(start).Seconds(), line), nil
		case <-t.C:
			if time.Since(start) > 45*time.Second {
				return "still open after 45s", nil
			}
			nc.Write([]byte(" "))
		}
	}
}

// aliasTopic joins room 1 under other topics.
func aliasTopic(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "alias")
	if err != nil {
		return "", err
	}
	id, err := chatRoom(e, tok, "alias")
	if err != nil {
		return "", err
	}
	c, err := dialWS(ctx, e, "token="+tok, nil)
	if err != nil {
		return "", err
	}
	defer c.nc.Close()
	var out []string
	for _, f := range []string{"room:0%d", "room:+%d"} {
		topic := fmt.Sprintf(f, id)
		st, _, err := c.join(topic, map[string]any{})
		if err != nil {
			return "", err
		}
		out = append(out, topic+" "+st)
	}
	return strings.Join(out, ", "), nil
}

// symlink asks for a file behind a link planted in the SPA folder.
func symlink(ctx context.Context, e *env) (string, error) {
	resp, err := http.Get(e.base() + "/etclink/passwd")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), "root:x") {
		return fmt.Sprintf("%d: the file outside the SPA folder was served", resp.StatusCode), nil
	}
	return fmt.Sprintf("%d, not the file (%s)", resp.StatusCode, resp.Header.Get("Content-Type")), nil
}

// longpollSessions opens 30,000 LongPoll sessions from one address.
func longpollSessions(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "poller")
	if err != nil {
		return "", err
	}
	var opened, refused atomic.Int64
	var wg sync.WaitGroup
	work := make(chan struct{})
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				req, _ := http.NewRequest("GET", e.base()+"/socket/longpoll?vsn=2.0.0", nil)
				req.Header.Set("X-Phoenix-AuthToken", tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					refused.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), `"status":410`) {
					opened.Add(1)
				} else {
					refused.Add(1)
				}
			}
		}()
	}
	for range 30_000 {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	return fmt.Sprintf("30,000 handshakes in %.1fs: %d sessions opened, %d refused", time.Since(start).Seconds(), opened.Load(), refused.Load()), nil
}

// originPort connects from a page on another port of the same host.
func originPort(ctx context.Context, e *env) (string, error) {
	tok, err := account(e, "origin")
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(e.addr)
	p, _ := strconv.Atoi(port)
	origin := fmt.Sprintf("http://%s:%d", host, p+1)
	c, err := dialWS(ctx, e, "token="+tok, http.Header{"Origin": {origin}})
	if err != nil {
		return "Origin " + origin + ": refused (" + err.Error() + ")", nil
	}
	c.nc.Close()
	return "Origin " + origin + ": accepted", nil
}

// shortPassword signs up with 6 characters.
func shortPassword(ctx context.Context, e *env) (string, error) {
	st, _, _, err := postJSON(e, "/api/signup", "", map[string]string{"name": "shorty", "password": "123456"})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("signup with a 6-character password: %d", st), nil
}
