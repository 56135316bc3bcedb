package channel_test

import (
	"context"
	"errors"
	"strings"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/wire"
)

// Poll is a channel whose client events are typed: each payload is
// decoded into a struct and validated before the method sees it.
type Poll struct{ votes map[string]int }

// Vote is the payload of the "vote" event.
type Vote struct {
	Option string `json:"option"`
}

// Validate refuses an empty option; the client reads the error.
func (v Vote) Validate() error {
	if strings.TrimSpace(v.Option) == "" {
		return errors.New("choose an option")
	}
	return nil
}

// Tally is the reply to a vote.
type Tally struct {
	Option string `json:"option"`
	Votes  int    `json:"votes"`
}

func (p *Poll) vote(ctx context.Context, ch *channel.Channel, v Vote) (Tally, error) {
	p.votes[v.Option]++
	return Tally{Option: v.Option, Votes: p.votes[v.Option]}, nil
}

var pollEvents = channel.Events[*Poll]{
	"vote": channel.On((*Poll).vote),
}

func (p *Poll) Join(ctx context.Context, ch *channel.Channel, _ channel.Payload) (any, error) {
	// Assigns come from Config.Connect; AssignsAs cannot panic.
	if name, ok := channel.AssignsAs[string](ch); !ok || name == "" {
		return nil, channel.Refuse("unauthorized")
	}
	return nil, nil
}

func (p *Poll) HandleIn(ctx context.Context, ch *channel.Channel, event string, pl channel.Payload) channel.Reply {
	return pollEvents.Dispatch(p, ctx, ch, event, pl)
}

func ExampleOn() {
	router := &channel.Router{}
	_ = router.Handle("poll:*", func() channel.Handler { return &Poll{votes: map[string]int{}} })
	socket, _ := channel.NewSocket(channel.Config{
		Router:  router,
		Connect: func(context.Context, *channel.ConnectInfo) (any, error) { return "ann", nil },
	})
	sess, _ := socket.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
	conn := printConn{done: make(chan struct{}, 4)}
	_ = sess.Serve(context.Background(), conn)
	defer sess.Close()

	for _, frame := range []string{
		`["1","1","poll:1","phx_join",{}]`,
		`["1","2","poll:1","vote",{"option":"go"}]`,
		`["1","3","poll:1","vote",{"option":" "}]`,
		`["1","4","poll:1","vote",{"option":7}]`,
		`["1","5","poll:1","close",{}]`,
	} {
		_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(frame)})
		<-conn.done
	}
	// Output:
	// ["1","1","poll:1","phx_reply",{"response":{},"status":"ok"}]
	// ["1","2","poll:1","phx_reply",{"response":{"option":"go","votes":1},"status":"ok"}]
	// ["1","3","poll:1","phx_reply",{"response":{"reason":"choose an option"},"status":"error"}]
	// ["1","4","poll:1","phx_reply",{"response":{"detail":"field \"option\" must be a JSON string","reason":"invalid payload"},"status":"error"}]
	// ["1","5","poll:1","phx_reply",{"response":{"reason":"unknown event"},"status":"error"}]
}
