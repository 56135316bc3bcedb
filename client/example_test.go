package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/suzaku-go/suzaku/client"
)

func Example() {
	// A stand-in for a Phoenix or suzaku endpoint such as
	// "ws://localhost:4000/socket/websocket".
	srv := startFakeServer()
	defer srv.Close()

	ctx := context.Background()
	sock, err := client.Dial(ctx, srv.URL(), &client.Config{Reconnect: true})
	if err != nil {
		log.Fatal(err)
	}
	defer sock.Close()

	room := sock.Channel("room:lobby", map[string]string{"user": "u1"})
	room.On("shout", func(m client.Message) {
		// Runs on the socket's reader goroutine: must not block.
		fmt.Printf("shout: %s\n", m.Payload)
	})
	resp, err := room.Join(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("joined: %s\n", resp)

	reply, err := room.Push(ctx, "echo", map[string]string{"body": "hi"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s\n", reply.Status, reply.Response)

	// The fake server answers "stale" with a push from an earlier join
	// (dropped), a push and a broadcast, then the reply.
	if _, err := room.Push(ctx, "stale", nil); err != nil {
		log.Fatal(err)
	}
	if err := room.Leave(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// joined: {"params":{"user":"u1"},"topic":"room:lobby"}
	// ok: {"body":"hi"}
	// shout: {"n":1}
	// shout: {"n":2}
}

func ExampleChannel_Join_refused() {
	srv := startFakeServer()
	defer srv.Close()

	ctx := context.Background()
	sock, err := client.Dial(ctx, srv.URL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sock.Close()

	ch := sock.Channel("denied:1", nil)
	_, err = ch.Join(ctx)
	var je *client.JoinError
	if errors.As(err, &je) {
		fmt.Printf("refused: %s\n", je.Response)
	}
	// The channel keeps rejoining, as in phoenix.js, until it is left.
	_ = ch.Leave(ctx)
	// Output:
	// refused: {"reason":"unauthorized"}
}

func ExampleChannel_Push_binary() {
	srv := startFakeServer()
	defer srv.Close()

	ctx := context.Background()
	sock, err := client.Dial(ctx, srv.URL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sock.Close()

	ch := sock.Channel("room:bin", nil)
	if _, err := ch.Join(ctx); err != nil {
		log.Fatal(err)
	}
	// A Binary payload goes in a binary frame, as an ArrayBuffer does.
	reply, err := ch.Push(ctx, "echo", client.Binary{1, 2, 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.Status, reply.Binary, reply.Response)
	// Output:
	// ok true [1 2 3]
}
