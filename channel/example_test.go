package channel_test

import (
	"context"
	"fmt"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/wire"
)

// Room is the seed's room channel: a message is broadcast to the room and
// acknowledged; a ping is pushed every five seconds.
type Room struct{ user string }

func (r *Room) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	ch.Every(5*time.Second, "ping")
	return nil, nil
}

func (r *Room) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	if event != "new:msg" {
		return channel.Error(channel.Reason("unknown event"))
	}
	var msg struct{ User, Body string }
	if err := p.Decode(&msg); err != nil {
		return channel.Error(channel.Reason("bad message"))
	}
	r.user = msg.User
	_ = ch.Broadcast(ctx, "new:msg", map[string]string{"user": msg.User, "body": msg.Body})
	return channel.OK(map[string]string{"msg": msg.Body})
}

func (r *Room) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	if msg == "ping" {
		_ = ch.Push("new:msg", map[string]string{"user": "SYSTEM", "body": "ping"})
	}
}

// printConn prints what a session sends.
type printConn struct{ done chan struct{} }

func (c printConn) Send(f wire.Frame) error {
	fmt.Println(string(f.Data))
	c.done <- struct{}{}
	return nil
}

func (printConn) Close(int, string) {}

func Example() {
	router := &channel.Router{}
	_ = router.Handle("rooms:*", func() channel.Handler { return &Room{} })
	socket, _ := channel.NewSocket(channel.Config{Router: router})

	// A transport does this for every connection.
	sess, _ := socket.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
	conn := printConn{done: make(chan struct{}, 4)}
	_ = sess.Serve(context.Background(), conn)
	defer sess.Close()

	_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","1","rooms:lobby","phx_join",{}]`)})
	<-conn.done
	_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","2","rooms:lobby","new:msg",{"User":"ann","Body":"hi"}]`)})
	<-conn.done
	<-conn.done
	// Output:
	// ["1","1","rooms:lobby","phx_reply",{"response":{},"status":"ok"}]
	// [null,null,"rooms:lobby","new:msg",{"body":"hi","user":"ann"}]
	// ["1","2","rooms:lobby","phx_reply",{"response":{"msg":"hi"},"status":"ok"}]
}
