package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// syncBuffer is a log sink the server writes from many goroutines.
type syncBuffer struct{ testutil.SyncBuffer }

// lines returns the JSON log lines, failing on any with a duplicate key.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	data := s.Bytes()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if err := noDuplicateKeys(sc.Bytes()); err != nil {
			t.Errorf("log line %s: %v", sc.Bytes(), err)
		}
		var m map[string]any
		testutil.Success(t, json.Unmarshal(sc.Bytes(), &m))
		out = append(out, m)
	}
	return out
}

func noDuplicateKeys(line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		if seen[k.(string)] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[k.(string)] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
	}
	return nil
}

func find(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// TestConformanceSocketLogs: a connection's life in JSON logs, every line
// with its socket_id, the connect line with the request id the proxy
// sent, a refused connect with its reason; and no line with a key twice.
func TestConformanceSocketLogs(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := newApp(options{}, log)
	testutil.Success(t, err)
	srv := httptest.NewServer(a)
	defer srv.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	}()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket/websocket"
	ctx := ctx5(t)

	s, err := client.Dial(ctx, wsURL, &client.Config{
		Params: url.Values{"user": {"logs"}},
		Header: http.Header{"X-Request-Id": {"req-from-proxy"}},
	})
	testutil.Success(t, err)
	_, err = s.Channel("room:logs", nil).Join(ctx)
	testutil.Success(t, err)
	_, err = s.Channel("nope", nil).Join(ctx)
	testutil.Error(t, err)
	_ = s.Close()
	_, err = client.Dial(ctx, wsURL, &client.Config{Params: url.Values{"user": {"reject"}}})
	testutil.Error(t, err)

	var lines []map[string]any
	testutil.CheckFor(t, 5*time.Second, func() error {
		lines = buf.lines(t)
		if len(find(lines, "socket disconnected")) != 1 || len(find(lines, "socket refused")) != 1 {
			return fmt.Errorf("no disconnect or refusal line yet in %d lines", len(lines))
		}
		return nil
	})
	conn := find(lines, "socket connected")
	testutil.Equal(t, "connect lines", len(conn), 1)
	sid := conn[0]["socket_id"]
	testutil.Equal(t, "connect request_id", conn[0]["request_id"], any("req-from-proxy"))
	testutil.Equal(t, "connect transport", conn[0]["transport"], any("websocket"))
	testutil.Equal(t, "connect serializer", conn[0]["serializer"], any("2.0.0"))
	if _, ok := conn[0]["duration"].(float64); !ok || sid == "" || sid == nil {
		t.Errorf("connect line lacks duration or socket_id: %v", conn[0])
	}
	joined := find(lines, "channel joined")
	testutil.Equal(t, "join lines", len(joined), 1)
	testutil.Equal(t, "join socket_id", joined[0]["socket_id"], sid)
	testutil.Equal(t, "join topic", joined[0]["topic"], any("room:logs"))
	gone := find(lines, "socket disconnected")
	testutil.Equal(t, "disconnect socket_id", gone[0]["socket_id"], sid)
	testutil.Equal(t, "disconnect code", gone[0]["code"], any(float64(1000)))
	refused := find(lines, "socket refused")
	testutil.Equal(t, "refusal reason", refused[0]["reason"], any("refused"))
	if refused[0]["request_id"] == "" || refused[0]["request_id"] == nil {
		t.Errorf("refusal line without a request_id: %v", refused[0])
	}
}
