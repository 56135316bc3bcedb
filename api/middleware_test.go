package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestChainOrder(t *testing.T) {
	t.Parallel()
	var order []string
	mw := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				next.ServeHTTP(w, r)
			})
		}
	}
	h := api.Chain(mw("a"), mw("b"), mw("c"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		order = append(order, "handler")
	}))
	serve(h, request("GET", "/", "", ""))
	testutil.Equal(t, "order", order, []string{"a", "b", "c", "handler"})
	serve(api.Chain()(http.NotFoundHandler()), request("GET", "/", "", ""))
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{name: "absent", incoming: "", keep: false},
		{name: "kept", incoming: "edge-7f3a:1", keep: true},
		{name: "longest kept", incoming: strings.Repeat("x", 128), keep: true},
		{name: "too long", incoming: strings.Repeat("x", 129), keep: false},
		{name: "space", incoming: "a b", keep: false},
		{name: "control character", incoming: "a\x01b", keep: false},
		{name: "non-ASCII", incoming: "é", keep: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var inCtx string
			h := api.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inCtx = api.RequestID(r.Context())
			}))
			r := request("GET", "/", "", "")
			if tt.incoming != "" {
				r.Header.Set(api.HeaderRequestID, tt.incoming)
			}
			out := serve(h, r).Header().Get(api.HeaderRequestID)
			testutil.Equal(t, "context id", inCtx, out)
			if tt.keep {
				testutil.Equal(t, "id", out, tt.incoming)
			} else if len(out) != 26 || out == tt.incoming {
				t.Fatalf("id = %q, want a new 26-character id", out)
			}
		})
	}
}

func TestRequestIDsUnique(t *testing.T) {
	t.Parallel()
	h := api.RequestIDs(http.NotFoundHandler())
	seen := map[string]bool{}
	for range 100 {
		id := serve(h, request("GET", "/", "", "")).Header().Get(api.HeaderRequestID)
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
	testutil.Equal(t, "no id outside the middleware", api.RequestID(t.Context()), "")
}

// logRecords collects JSON log records.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.buf.Bytes()))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("decode log: %v", err)
		}
		out = append(out, m)
	}
}

func newLogger() (*slog.Logger, *logRecords) {
	l := &logRecords{}
	return slog.New(slog.NewJSONHandler(l, nil)), l
}

func TestRecoverPanic(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	h := api.Chain(api.RequestIDs, api.AccessLog(logger), api.Recover(logger))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			panic("nil map write")
		}))
	r := request("GET", "/api/crash", "", "")
	r.Header.Set(api.HeaderRequestID, "crash-1")
	rec := serve(h, r)
	testutil.Equal(t, "status", rec.Code, http.StatusInternalServerError)
	testutil.Equal(t, "problem", problem(t, rec), api.Problem{
		Title: "Internal Server Error", Status: 500, Code: api.CodeInternal, RequestID: "crash-1",
	})
	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("logged %d records, want the panic and the access line: %v", len(recs), recs)
	}
	testutil.Equal(t, "panic", recs[0]["panic"], any("nil map write"))
	testutil.Equal(t, "panic request id", recs[0]["request_id"], any("crash-1"))
	if !strings.Contains(recs[0]["stack"].(string), "TestRecoverPanic") {
		t.Errorf("stack does not show the handler: %s", recs[0]["stack"])
	}
	testutil.Equal(t, "access status", recs[1]["status"], any(500.0))
	testutil.Equal(t, "access level", recs[1]["level"], any("ERROR"))
}

func TestRecoverAfterWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any
	}{
		{name: "panic after the response started", value: "late"},
		{name: "ErrAbortHandler passes through", value: http.ErrAbortHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := api.Recover(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "partial")
				panic(tt.value)
			}))
			defer func() {
				testutil.Equal(t, "re-panic", recover(), any(http.ErrAbortHandler))
			}()
			serve(h, request("GET", "/", "", ""))
			t.Fatal("no panic")
		})
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	h := api.Chain(api.AccessLog(logger), api.RequestIDs)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational: not the status
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	}))
	// A real server: httptest.ResponseRecorder takes 103 as the final status.
	srv := httptest.NewServer(h)
	defer srv.Close()
	r, err := http.NewRequest("POST", srv.URL+"/api/tea?token=secret", nil)
	testutil.Success(t, err)
	r.Header.Set(api.HeaderRequestID, "tea-1")
	resp, err := http.DefaultClient.Do(r)
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "status", resp.StatusCode, http.StatusTeapot)
	var recs []map[string]any
	testutil.CheckFor(t, 5*time.Second, func() error {
		if recs = logs.records(t); len(recs) != 1 {
			return fmt.Errorf("%d records, want 1", len(recs))
		}
		return nil
	})
	rec := recs[0]
	delete(rec, "time")
	if d, ok := rec["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration = %v", rec["duration"])
	}
	delete(rec, "duration")
	testutil.Equal(t, "record", rec, map[string]any{
		"level": "INFO", "msg": "http request", "method": "POST", "path": "/api/tea",
		"status": 418.0, "bytes": 15.0, "request_id": "tea-1",
	})

	testutil.Equal(t, "nil logger is a no-op", fmt.Sprint(api.AccessLog(nil)(h)), fmt.Sprint(h))
}

// TestMiddlewareHijack checks that a handler behind every middleware can
// still hijack the connection (a WebSocket upgrade), through
// http.ResponseController and through a type assertion, and that Recover
// writes nothing on a hijacked connection.
func TestMiddlewareHijack(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	cors, err := api.NewCORS(api.CORSConfig{AllowedOrigins: []string{"https://app.example.com"}})
	testutil.Success(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /controller", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
		brw.Flush()
	})
	mux.HandleFunc("GET /assert", func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "not a Hijacker", http.StatusInternalServerError)
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nbye")
		conn.Close()
		panic("after hijack")
	})
	srv := httptest.NewServer(api.Chain(api.RequestIDs, api.AccessLog(logger), api.Recover(logger), cors.Wrap)(mux))
	defer srv.Close()

	for _, path := range []string{"/controller", "/assert", "/panic"} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		testutil.Success(t, err)
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\n\r\n", path)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(conn)
		conn.Close()
		testutil.Success(t, err)
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 Switching Protocols\r\n")) || bytes.Count(got, []byte("HTTP/1.1")) != 1 {
			t.Errorf("%s: response %q, want only the hijacker's 101", path, got)
		}
	}
	testutil.CheckFor(t, 5*time.Second, func() error {
		var access, panics int
		for _, rec := range logs.records(t) {
			switch rec["msg"] {
			case "http request":
				access++
				if rec["status"] != 101.0 {
					return fmt.Errorf("access status %v, want 101", rec["status"])
				}
			case "api: panic serving request":
				panics++
			}
		}
		if access != 3 || panics != 1 {
			return fmt.Errorf("logged %d access lines and %d panics, want 3 and 1", access, panics)
		}
		return nil
	})
}

// TestMiddlewareFlush checks that streaming works through the middleware:
// Flush, FlushError and deadlines via http.ResponseController, and
// http.Flusher by type assertion.
func TestMiddlewareFlush(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	h := api.Chain(api.RequestIDs, api.AccessLog(slog.New(slog.DiscardHandler)), api.Recover(nil))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			if err := rc.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "data: 1\n\n")
			if err := rc.Flush(); err != nil {
				return
			}
			<-release
			io.WriteString(w, "data: 2\n\n")
			w.(http.Flusher).Flush()
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	testutil.Success(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	testutil.Success(t, err)
	testutil.Equal(t, "first event, before the handler returns", line, "data: 1\n")
	close(release)
	rest, err := io.ReadAll(br)
	testutil.Success(t, err)
	testutil.Equal(t, "rest", string(rest), "\ndata: 2\n\n")
}

// TestMiddlewareReadFrom checks that io.Copy through the middleware
// reaches the server's ReadFrom and counts the bytes.
func TestMiddlewareReadFrom(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	h := api.Chain(api.AccessLog(logger), api.Recover(nil))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rf, ok := w.(io.ReaderFrom)
		if !ok {
			t.Error("the wrapper is not an io.ReaderFrom")
			return
		}
		rf.ReadFrom(strings.NewReader(strings.Repeat("z", 5000)))
	}))
	rec := serve(h, request("GET", "/", "", ""))
	testutil.Equal(t, "body", rec.Body.Len(), 5000)
	testutil.Equal(t, "logged bytes", logs.records(t)[0]["bytes"], any(5000.0))
}
