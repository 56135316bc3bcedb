package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/stream"
)

// roomHistory is what a room keeps for reconnecting tabs: the last 200
// messages, for 10 minutes. A tab away longer reloads over the API.
var roomHistory = stream.Limits{Size: 200, TTL: 10 * time.Minute}

// lobby is the "rooms" topic: joining it is how an SPA hears of new rooms.
type lobby struct{}

func (lobby) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

// roomChannel is one user in one room: the seed's room_channel.ex, grown
// up. Its fields are that join's state; its events are typed.
type roomChannel struct {
	app  *app
	user string
	room Room
}

type (
	afterJoin struct{}
	ping      struct{}
)

// newMsg is the payload of "new_msg".
type newMsg struct {
	Body string `json:"body"`
}

func (in newMsg) Validate() error {
	if strings.TrimSpace(in.Body) == "" || utf8.RuneCountInString(in.Body) > 2000 {
		return errors.New("a message is 1 to 2000 characters")
	}
	return nil
}

var roomEvents = channel.Events[*roomChannel]{
	"new_msg": channel.On((*roomChannel).newMsg),
	"typing":  channel.On((*roomChannel).typing),
}

func (r *roomChannel) Join(ctx context.Context, ch *channel.Channel, _ channel.Payload) (any, error) {
	id, ok := channel.AssignsAs[*auth.Identity](ch)
	if !ok {
		return nil, channel.Refuse("unauthorized")
	}
	r.user = id.Subject
	// Only the canonical topic: "room:01" and "room:+1" would join room 1
	// under another topic, whose broadcasts its readers never see.
	roomID, err := strconv.ParseInt(strings.TrimPrefix(ch.Topic(), "room:"), 10, 64)
	if err != nil || roomID <= 0 || ch.Topic() != "room:"+strconv.FormatInt(roomID, 10) {
		return nil, channel.Refuse("not found")
	}
	if r.room, err = r.app.store.Room(ctx, roomID); err != nil {
		return nil, channel.Refuse("not found")
	}
	ch.Send(afterJoin{})
	ch.Every(5*time.Second, ping{})
	return map[string]Room{"room": r.room}, nil
}

func (r *roomChannel) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	return roomEvents.Dispatch(r, ctx, ch, event, p)
}

func (r *roomChannel) newMsg(ctx context.Context, ch *channel.Channel, in newMsg) (map[string]Message, error) {
	m, err := r.app.store.AddMessage(ctx, r.room.ID, r.user, in.Body)
	if err != nil {
		return nil, err // logged; the client reads "internal error"
	}
	_ = ch.Broadcast(ctx, "new_msg", m)
	return map[string]Message{"message": m}, nil
}

func (r *roomChannel) typing(ctx context.Context, ch *channel.Channel, in struct{ Typing bool }) (struct{}, error) {
	return struct{}{}, ch.BroadcastFrom(ctx, "typing", map[string]any{"user": r.user, "typing": in.Typing})
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
