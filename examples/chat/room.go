package main

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/presence"
)

// lobby is the "rooms" topic: joining it is how an SPA hears of new rooms.
type lobby struct{}

func (lobby) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

// roomChannel is one user in one room: the seed's room_channel.ex, grown
// up. Its fields are that join's state.
type roomChannel struct {
	app  *app
	user string
	room Room
}

type (
	afterJoin struct{}
	ping      struct{}
)

func (r *roomChannel) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	r.user = ch.Assigns().(*auth.Identity).Subject
	id, err := strconv.ParseInt(strings.TrimPrefix(ch.Topic(), "room:"), 10, 64)
	if err != nil {
		return nil, channel.Refuse("not found")
	}
	if r.room, err = r.app.store.Room(ctx, id); err != nil {
		return nil, channel.Refuse("not found")
	}
	ch.Send(afterJoin{})
	ch.Every(5*time.Second, ping{})
	return map[string]Room{"room": r.room}, nil
}

func (r *roomChannel) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	switch msg.(type) {
	case afterJoin:
		if _, err := r.app.presence.Track(ctx, ch, r.user, map[string]any{"online_at": time.Now().UnixMilli()}); err != nil {
			ch.Stop(err)
			return
		}
		_ = ch.Push(presence.EventState, r.app.presence.List(ch.Topic()))
	case ping:
		_ = ch.Push("ping", map[string]int64{"at": time.Now().UnixMilli()})
	}
}

func (r *roomChannel) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	switch event {
	case "new_msg":
		var in struct{ Body string }
		if err := p.Decode(&in); err != nil || strings.TrimSpace(in.Body) == "" || utf8.RuneCountInString(in.Body) > 2000 {
			return channel.Error(channel.Reason("a message is 1 to 2000 characters"))
		}
		m, err := r.app.store.AddMessage(ctx, r.room.ID, r.user, in.Body)
		if err != nil {
			return channel.Error(channel.Reason("could not save the message"))
		}
		_ = ch.Broadcast(ctx, "new_msg", m)
		return channel.OK(map[string]Message{"message": m})
	case "typing":
		var in struct{ Typing bool }
		_ = p.Decode(&in)
		_ = ch.BroadcastFrom(ctx, "typing", map[string]any{"user": r.user, "typing": in.Typing})
		return channel.OK(nil)
	}
	return channel.Error(channel.Reason("unknown event"))
}
