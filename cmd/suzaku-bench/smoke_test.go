package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/rawbaseline"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// startRaw runs the raw baseline server in process until the test ends.
func startRaw(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the raw baseline needs epoll")
	}
	srv, err := rawbaseline.New()
	testutil.Success(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		stop()
		<-done
		hs.Close()
	})
	return hs.URL
}

// smokeRunner runs scenarios in process (clients as goroutines) against
// url.
func smokeRunner(t *testing.T, url string, opts options) (*runner, *TargetReport) {
	t.Helper()
	base := options{
		Conns: 50, Procs: 2, Topic: "smoke", Payload: 100, Rounds: 3, Concurrency: 8,
		RoundWait: 10 * time.Second, SourceIP: "127.0.0.2", ConnTimeout: 10 * time.Second, IdleMax: time.Second, Quiet: true,
	}
	if opts.Conns > 0 {
		base.Conns = opts.Conns
	}
	base.SlowClients, base.SlowFill, base.SlowRcvBuf = opts.SlowClients, opts.SlowFill, opts.SlowRcvBuf
	sess, err := newSession(base, inProcessSpawner(), io.Discard)
	testutil.Success(t, err)
	t.Cleanup(sess.client.CloseIdleConnections)
	rep := &TargetReport{Target: Target{Name: "raw", URL: url}}
	return &runner{session: sess, target: rep.Target, rep: rep}, rep
}

func TestSmokeBroadcastReachesEverySubscriber(t *testing.T) {
	t.Parallel()
	url := startRaw(t)
	r, rep := smokeRunner(t, url, options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	testutil.Success(t, r.run(ctx, "broadcast"))
	b := rep.Broadcast
	testutil.Equal(t, "joined", b.Connect.Joined, 50)
	testutil.Equal(t, "procs", b.Connect.Procs, 2)
	testutil.Equal(t, "subscribers", b.Subscribers, int64(50))
	testutil.Equal(t, "rounds", b.Rounds, 3)
	testutil.Equal(t, "expected", b.Expected, int64(150))
	testutil.Equal(t, "delivered", b.Delivered, int64(150))
	testutil.Equal(t, "incomplete rounds", b.Incomplete, 0)
	testutil.Equal(t, "latency samples", b.Latency.Count, int64(150))
	for _, d := range b.Detail {
		testutil.Equal(t, "delivered in round", d.Delivered, int64(50))
	}
	testutil.Equal(t, "notes", rep.Notes, []string(nil))
}

func TestSmokeSlowClientsAreDrained(t *testing.T) {
	t.Parallel()
	url := startRaw(t)
	// 64 KiB fits in the kernel's buffers: raw keeps the slow clients.
	r, rep := smokeRunner(t, url, options{Conns: 20, SlowClients: 2, SlowFill: 64 << 10, SlowRcvBuf: 4096})
	r.opts.Procs = 1
	r.opts.SourceIP = "127.0.0.10"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	testutil.Success(t, r.run(ctx, "slow"))
	s := rep.Slow
	testutil.Equal(t, "delivered without", s.Without.Delivered, int64(60))
	testutil.Equal(t, "delivered with", s.With.Delivered, int64(60))
	testutil.Equal(t, "subscribers with (slow ones do not count)", s.With.Subscribers, int64(20))
	testutil.Equal(t, "slow open", s.SlowOpen, 2)
	if s.SlowDrained < 2*64<<10 {
		t.Fatalf("slow clients drained %d bytes, want ≥ %d", s.SlowDrained, 2*64<<10)
	}
}

func TestSmokeCommandLine(t *testing.T) {
	t.Parallel()
	var out, errw bytes.Buffer
	ctx := context.Background()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown subcommand", args: []string{"nope"}, want: `unknown subcommand "nope"`},
		{name: "compare needs two targets", args: []string{"compare", "--target", "a=http://127.0.0.1:1"}, want: "at least two"},
		{name: "loopback only", args: []string{"broadcast", "--server", "http://192.0.2.1:4000"}, want: "only loopback"},
		{name: "unknown scenario", args: []string{"compare", "--scenario", "x", "--target", "a=http://127.0.0.1:1", "--target", "b=http://127.0.0.1:2"}, want: "unknown scenario"},
		{name: "render needs --in", args: []string{"render"}, want: "--in is required"},
	}
	for _, tt := range tests {
		err := run(ctx, tt.args, &out, &errw)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: run(%q) = %v, want an error containing %q", tt.name, tt.args, err, tt.want)
		}
	}
}
