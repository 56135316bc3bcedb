package transport_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/transport"
)

func ExampleNewLongPoll() {
	router := &channel.Router{}
	// router.Handle("room:*", ...)
	socket, err := channel.NewSocket(channel.Config{Router: router})
	if err != nil {
		panic(err)
	}
	lp, err := transport.NewLongPoll(transport.LongPollConfig{
		Socket:         socket,
		AllowedOrigins: []string{"https://app.example.com"},
		Window:         10 * time.Second,
		// Secret: a shared 32-byte key when several nodes serve the
		// same clients (requests are forwarded to the session's node).
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket/longpoll", lp) // phoenix.js: new Socket("/socket", {transport: LongPoll})
	fmt.Println(lp.Sessions())
	// Output: 0
}
