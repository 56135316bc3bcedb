package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestConformanceOperations: GET /metrics counts what a client did, exact
// at rest; /healthz and /readyz answer.
func TestConformanceOperations(t *testing.T) {
	t.Parallel()
	wsURL, _ := startApp(t)
	base := "http" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws"), "/socket/websocket")
	s := dial(t, wsURL, "ops")
	room := s.Channel("room:ops", nil)
	_, err := room.Join(ctx5(t))
	testutil.Success(t, err)
	for range 3 {
		count(t, room)
	}
	// Frames in: the join and 3 pushes; out: their replies, plus the
	// presence_state push and the presence_diff broadcast of the join.
	testutil.CheckFor(t, 5*time.Second, func() error {
		got := scrape(t, base)
		for k, v := range map[string]float64{
			`suzaku_connections{transport="websocket"}`: 1,
			`suzaku_connections{transport="longpoll"}`:  0,
			`suzaku_channels`:                           1,
			`suzaku_messages_received_total`:            4,
			`suzaku_messages_sent_total`:                6,
		} {
			if got[k] != v {
				return fmt.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if got["suzaku_presence_diffs_total"] < 1 || got["suzaku_broadcasts_total"] < 1 {
			return fmt.Errorf("presence diffs %v, broadcasts %v: want the join's", got["suzaku_presence_diffs_total"], got["suzaku_broadcasts_total"])
		}
		return nil
	})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		resp, err := http.Get(base + path)
		testutil.Success(t, err)
		resp.Body.Close()
		testutil.Equal(t, "GET "+path, resp.StatusCode, want)
	}
}

func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	testutil.Success(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		var v float64
		fmt.Sscan(line[i+1:], &v)
		out[line[:i]] = v
	}
	return out
}

func TestConformanceSettings(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	var out strings.Builder
	opts, _, err := parseOptions([]string{"-addr", "127.0.0.1:0"}, env(map[string]string{
		"SUZAKU_BROKER":      "redis://:pw@127.0.0.1:6379",
		"SUZAKU_DRAIN_DELAY": "250ms",
	}), &out)
	testutil.Success(t, err)
	testutil.Equal(t, "broker", opts.broker, "redis://:pw@127.0.0.1:6379")
	testutil.Equal(t, "drain delay", opts.drainDelay, 250*time.Millisecond)
	if strings.Contains(out.String(), ":pw@") || !strings.Contains(out.String(), "(env SUZAKU_BROKER)") {
		t.Errorf("effective configuration:\n%s", out.String())
	}
	for _, bad := range []map[string]string{
		{"SUZAKU_DRAIN_DELAY": "soon"},
		{"SUZAKU_ADDR": "no-port"},
		{"SUZAKU_LOG_JSON": "perhaps"},
	} {
		_, _, err := parseOptions(nil, env(bad), &out)
		for k := range bad {
			if err == nil || !strings.Contains(err.Error(), k) || strings.Contains(err.Error(), "\n") {
				t.Errorf("parseOptions with %v = %v, want a one-line error naming %s", bad, err, k)
			}
		}
	}
}

func TestConformanceDashboardMount(t *testing.T) {
	t.Parallel()
	a, err := newApp(options{dashboardPassword: "pw-for-tests", pprof: true}, discardLog())
	testutil.Success(t, err)
	srv := httptest.NewServer(a)
	defer srv.Close()
	for _, tt := range []struct {
		path, pass string
		want       int
	}{
		{"/ops/", "", 401}, {"/ops/", "wrong", 401}, {"/ops/", "pw-for-tests", 200},
		{"/ops/debug/pprof/", "", 401}, {"/ops/debug/pprof/", "pw-for-tests", 200},
		{"/debug/pprof/", "", 404},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		if tt.pass != "" {
			req.SetBasicAuth("ops", tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		testutil.Success(t, err)
		resp.Body.Close()
		testutil.Equal(t, "GET "+tt.path+" with "+tt.pass, resp.StatusCode, tt.want)
	}
	_, _, err = parseOptions([]string{"-pprof"}, func(string) (string, bool) { return "", false }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-pprof") {
		t.Errorf("-pprof without a dashboard password: %v, want an error naming -pprof", err)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
