package suzaku_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
)

// A server with a socket and an API route: phoenix.js connects to /socket
// (WebSocket, or LongPoll as a fallback); everything else goes to the
// handler. Cancelling the context drains it.
func Example() {
	router := &channel.Router{}
	_ = router.Handle("room:*", func() channel.Handler { return echo{} })
	socket, err := channel.NewSocket(channel.Config{Router: router})
	if err != nil {
		panic(err)
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	})
	srv, err := suzaku.New(suzaku.Config{Handler: api, Socket: socket})
	if err != nil {
		panic(err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0") // srv.Run(ctx) listens on Config.Addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/api/health")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	cancel()
	fmt.Println("drained:", <-done)
	// Output:
	// {"ok":true}
	// drained: <nil>
}
