package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/dashboard"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/telemetry"
)

func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(metrics.Config{NoRuntime: true})
	testutil.Success(t, err)
	return m
}

func TestDashboardRefusesWithoutAuthorize(t *testing.T) {
	t.Parallel()
	_, err := dashboard.New(dashboard.Config{Metrics: newMetrics(t)})
	testutil.Error(t, err)
	_, err = dashboard.New(dashboard.Config{Authorize: dashboard.BasicAuth("ops", "pw")})
	testutil.Error(t, err) // no metrics
	_, err = dashboard.New(dashboard.Config{Authorize: dashboard.BasicAuth("ops", "pw"), Metrics: newMetrics(t), Secret: []byte("short")})
	testutil.Error(t, err)
}

// serve mounts d under /ops/ and runs its service.
func serve(t *testing.T, d *dashboard.Dashboard) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", d))
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		testutil.ErrorIs(t, <-done, context.Canceled)
		srv.Close()
	})
	return srv
}

func get(t *testing.T, srv *httptest.Server, path, user, pass string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	testutil.Success(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestDashboardProtection(t *testing.T) {
	t.Parallel()
	d, err := dashboard.New(dashboard.Config{Authorize: dashboard.BasicAuth("ops", "s3cret"), Metrics: newMetrics(t), Profiling: true})
	testutil.Success(t, err)
	srv := serve(t, d)
	tests := []struct {
		name, path, user, pass string
		want                   int
	}{
		{"page without credentials", "/ops/", "", "", 401},
		{"page with a wrong password", "/ops/", "ops", "nope", 401},
		{"page", "/ops/", "ops", "s3cret", 200},
		{"script without credentials", "/ops/assets/dashboard.js", "", "", 401},
		{"script", "/ops/assets/dashboard.js", "ops", "s3cret", 200},
		{"phoenix client", "/ops/assets/phoenix.mjs", "ops", "s3cret", 200},
		{"pprof without credentials", "/ops/debug/pprof/", "", "", 401},
		{"pprof", "/ops/debug/pprof/", "ops", "s3cret", 200},
		{"runtime figures", "/ops/runtime.json", "ops", "s3cret", 200},
		{"socket without credentials or ticket", "/ops/socket/websocket?vsn=2.0.0", "", "", 401},
	}
	for _, tt := range tests {
		resp, _ := get(t, srv, tt.path, tt.user, tt.pass)
		testutil.Equal(t, tt.name, resp.StatusCode, tt.want)
		if tt.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without a challenge", tt.name)
		}
	}
	resp, _ := get(t, srv, "/ops/assets/phoenix.mjs", "ops", "s3cret")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("phoenix.mjs Content-Type = %q, want JavaScript (module scripts need it)", ct)
	}

	forbid, err := dashboard.New(dashboard.Config{Authorize: func(*http.Request) error { return errors.New("not an operator") }, Metrics: newMetrics(t)})
	testutil.Success(t, err)
	fsrv := serve(t, forbid)
	resp, _ = get(t, fsrv, "/ops/", "", "")
	testutil.Equal(t, "refused by the app's callback", resp.StatusCode, 403)
	resp, _ = get(t, fsrv, "/ops/debug/pprof/", "", "")
	testutil.Equal(t, "pprof without Profiling, refused first", resp.StatusCode, 403)
}

var ticketRE = regexp.MustCompile(`data-ticket="([^"]+)"`)

// TestDashboardLive: the page's socket joins with the ticket the page
// carries, gets the history in its join reply, then a sample per interval
// that reflects what the metrics saw.
func TestDashboardLive(t *testing.T) {
	t.Parallel()
	m := newMetrics(t)
	d, err := dashboard.New(dashboard.Config{Authorize: dashboard.BasicAuth("ops", "s3cret"), Metrics: m, Node: "n1", Interval: 50 * time.Millisecond})
	testutil.Success(t, err)
	srv := serve(t, d)
	_, page := get(t, srv, "/ops/", "ops", "s3cret")
	match := ticketRE.FindStringSubmatch(page)
	if match == nil {
		t.Fatalf("no ticket in the page:\n%s", page)
	}
	ticket := strings.ReplaceAll(match[1], "&#43;", "+")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ops/socket/websocket"
	_, err = client.Dial(ctx, wsURL, &client.Config{Params: url.Values{"ticket": {"1." + strings.Repeat("A", 43)}}})
	testutil.Equal(t, "forged ticket", client.HandshakeStatus(err), 401)

	time.Sleep(120 * time.Millisecond) // a sample or two for the history
	s, err := client.Dial(ctx, wsURL, &client.Config{Params: url.Values{"ticket": {ticket}}})
	testutil.Success(t, err)
	defer s.Close()
	ch := s.Channel(dashboard.Topic, nil)
	samples := make(chan dashboard.Sample, 100)
	ch.On("stats", func(msg client.Message) {
		var x dashboard.Sample
		if json.Unmarshal(msg.Payload, &x) == nil {
			samples <- x
		}
	})
	reply, err := ch.Join(ctx)
	testutil.Success(t, err)
	var joined struct {
		Node    string                       `json:"node"`
		History map[string][]json.RawMessage `json:"history"`
	}
	testutil.Success(t, json.Unmarshal(reply, &joined))
	testutil.Equal(t, "node", joined.Node, "n1")
	if len(joined.History["n1"]) == 0 {
		t.Errorf("join reply without history: %s", reply)
	}

	m.Event(telemetry.Event{Kind: telemetry.KindConnect, Transport: "websocket"})
	m.Event(telemetry.Event{Kind: telemetry.KindJoin, Pattern: "room:*"})
	for {
		select {
		case x := <-samples:
			if x.Connections["websocket"] != 1 || x.Channels != 1 {
				continue
			}
			testutil.Equal(t, "sample node", x.Node, "n1")
			testutil.Equal(t, "patterns", len(x.Patterns), 1)
			testutil.Equal(t, "broker", x.Broker.Status, "local")
			if x.Goroutines == 0 || x.TotalBytes == 0 {
				t.Errorf("runtime figures missing: %+v", x)
			}
			return
		case <-ctx.Done():
			t.Fatal("no sample with the new connection")
		}
	}
}
