package suzaku_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/health"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestServerDrainDelay: once the serve context is done, the server goes
// on serving for DrainDelay, unready, refusing new sockets, then drains.
func TestServerDrainDelay(t *testing.T) {
	t.Parallel()
	router := &channel.Router{}
	testutil.Success(t, router.Handle("echo:*", func() channel.Handler { return echo{} }))
	socket, err := channel.NewSocket(channel.Config{Router: router})
	testutil.Success(t, err)
	probe := health.New(health.Config{})
	mux := http.NewServeMux()
	probe.Mount(mux)
	srv, err := suzaku.New(suzaku.Config{Socket: socket, Handler: mux, DrainDelay: 400 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	testutil.Success(t, err)
	probe.Check("server", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	status := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testutil.Equal(t, "readyz before", status(), 200)
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	old, err := client.Dial(dctx, "ws://"+ln.Addr().String()+"/socket/websocket", nil)
	testutil.Success(t, err)
	defer old.Close()

	start := time.Now()
	cancel()
	testutil.CheckFor(t, time.Second, func() error {
		if !srv.Draining() {
			return suzaku.ErrDraining
		}
		return nil
	})
	testutil.Equal(t, "readyz while draining", status(), 503)
	_, err = client.Dial(dctx, "ws://"+ln.Addr().String()+"/socket/websocket", nil)
	testutil.Equal(t, "new socket while draining: handshake status", client.HandshakeStatus(err), 503)
	select {
	case <-old.Done():
		t.Fatal("an open socket was closed before DrainDelay ran out")
	default:
	}
	testutil.Success(t, <-served)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("Serve returned %v after cancel, before DrainDelay", d)
	}
	testutil.Equal(t, "readyz after", status(), 0) // the listener is closed
}
