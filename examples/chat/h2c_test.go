package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
)

// TestChatH2C serves the chat with -h2c (the default): a proxy that speaks
// HTTP/2 without TLS gets HTTP/2, and HTTP/1.1 clients are unaffected.
func TestChatH2C(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, _, err := parseConfig([]string{"-data", dir, "-web", dir + "/none", "-addr", "127.0.0.1:0"}, func(string) (string, bool) { return "", false }, io.Discard)
	must(t, err)
	equal(t, "h2c by default", cfg.h2c, true)
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	defer func() { stop(); <-done; a.Close() }()

	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	defer h2.CloseIdleConnections()
	for _, c := range []struct {
		client *http.Client
		proto  string
	}{{&http.Client{Transport: h2}, "HTTP/2.0"}, {&http.Client{Transport: &http.Transport{}}, "HTTP/1.1"}} {
		resp, err := c.client.Get("http://" + ln.Addr().String() + "/healthz")
		must(t, err)
		resp.Body.Close()
		equal(t, "status", resp.StatusCode, 200)
		equal(t, "protocol", resp.Proto, c.proto)
		c.client.CloseIdleConnections()
	}
}
