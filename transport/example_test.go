package transport_test

import (
	"fmt"
	"net/http"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/transport"
)

func ExampleNewWebSocket() {
	router := &channel.Router{}
	// router.Handle("room:*", ...)
	socket, err := channel.NewSocket(channel.Config{Router: router})
	if err != nil {
		panic(err)
	}
	ws, err := transport.NewWebSocket(transport.WebSocketConfig{
		Socket:         socket,
		AllowedOrigins: []string{"https://app.example.com"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket/websocket", ws) // phoenix.js: new Socket("/socket")
	fmt.Println(ws.Conns())
	// Output: 0
}
