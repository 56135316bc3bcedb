package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// TestLeakCheck: a goroutine a test forgets is reported, whatever it runs
// (an HTTP client connection of its own transport included); the idle
// connections of http.DefaultTransport are not, since they are closed
// first.
func TestLeakCheck(t *testing.T) {
	before := goroutines()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()

	// Idle keep-alive connections of the default client: not a leak.
	resp, err := http.Get(srv.URL)
	Success(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A client of the test's own, with an idle connection it never
	// closes: a leak, even though its goroutines are net/http's.
	own := &http.Transport{}
	resp, err = (&http.Client{Transport: own}).Get(srv.URL)
	Success(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A goroutine blocked for good: a leak.
	stop := make(chan struct{})
	go func() { <-stop }()

	err = CheckLeaks(before, 100*time.Millisecond)
	if err == nil {
		t.Fatal("CheckLeaks() = nil, want the blocked goroutine and the own transport's connection")
	}
	for _, want := range []string{"TestLeakCheck.func", "persistConn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckLeaks() does not report %q:\n%v", want, err)
		}
	}
	close(stop)
	own.CloseIdleConnections()
	srv.Close()
	Success(t, CheckLeaks(before, 5*time.Second))
}
