package main

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/presence"
)

// user is the socket's assigns.
type user struct{ name string }

// room is the room:* channel of examples/conformance/README.md. One value per join: its
// fields are that join's state.
type room struct {
	presence *presence.Tracker
	user     string
	status   string
	count    int // events handled since the join
	ticks    int
}

type (
	tick      struct{}
	afterJoin struct{}
)

func (r *room) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	r.user = ch.Assigns().(*user).name
	var opts struct {
		Fail   bool   `json:"fail"`
		Crash  bool   `json:"crash"`
		Status string `json:"status"`
		TickMS int    `json:"tick_ms"`
	}
	_ = p.Decode(&opts) // a payload that is not an object joins with defaults
	switch {
	case ch.Topic() == "room:private" && r.user != "admin":
		return nil, channel.Refuse("unauthorized")
	case opts.Fail:
		return nil, channel.Refuse("join failed")
	case opts.Crash:
		panic("join crash requested")
	}
	if opts.TickMS >= 10 {
		ch.Every(time.Duration(opts.TickMS)*time.Millisecond, tick{})
	}
	r.status = opts.Status
	if r.status == "" {
		r.status = "online"
	}
	ch.Send(afterJoin{}) // track once subscribed, so the joiner sees its own diff
	return map[string]string{"topic": ch.Topic(), "user": r.user}, nil
}

func (r *room) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	r.count++
	switch event {
	case "new_msg":
		var m struct {
			Body any `json:"body"`
		}
		if err := p.Decode(&m); err != nil {
			return channel.Error(channel.Reason("bad payload"))
		}
		if err := ch.Broadcast(ctx, "new_msg", map[string]any{"user": r.user, "body": m.Body}); err != nil {
			return channel.Error(channel.Reason("broadcast failed"))
		}
		return channel.OK(map[string]any{"body": m.Body})
	case "shout_others":
		var m struct {
			Body any `json:"body"`
		}
		if err := p.Decode(&m); err != nil {
			return channel.Error(channel.Reason("bad payload"))
		}
		if err := ch.BroadcastFrom(ctx, "shout", map[string]any{"user": r.user, "body": m.Body}); err != nil {
			return channel.Error(channel.Reason("broadcast failed"))
		}
		return channel.OK(nil)
	case "echo":
		return channel.OK(p)
	case "error_reply":
		return channel.Error(channel.Reason("requested"))
	case "no_reply":
		return channel.Reply{}
	case "count":
		return channel.OK(map[string]int{"n": r.count})
	case "slow":
		var m struct {
			MS int `json:"ms"`
		}
		_ = p.Decode(&m)
		select {
		case <-time.After(time.Duration(m.MS) * time.Millisecond):
		case <-ctx.Done():
		}
		return channel.OK(map[string]int{"slept": m.MS})
	case "push_me":
		var m struct {
			Event   string          `json:"event"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := p.Decode(&m); err != nil || m.Event == "" {
			return channel.Error(channel.Reason("push_me wants {\"event\",\"payload\"}"))
		}
		if err := ch.Push(m.Event, m.Payload); err != nil {
			return channel.Error(channel.Reason(err.Error()))
		}
		return channel.OK(nil)
	case "set_status":
		var m struct {
			Status string `json:"status"`
		}
		if err := p.Decode(&m); err != nil {
			return channel.Error(channel.Reason("bad payload"))
		}
		if _, err := r.presence.Update(ctx, ch, ch.Topic(), r.user, map[string]any{"status": m.Status}); err != nil {
			return channel.Error(channel.Reason(err.Error()))
		}
		return channel.OK(nil)
	case "crash":
		panic("crash requested")
	case "stop":
		ch.Stop(nil)
		return channel.OK(nil)
	}
	return channel.Error(channel.Reason("unknown event " + event))
}

func (r *room) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	switch msg.(type) {
	case tick:
		r.ticks++
		_ = ch.Push("tick", map[string]int{"n": r.ticks})
	case afterJoin:
		if _, err := r.presence.Track(ctx, ch, r.user, map[string]any{"status": r.status}); err != nil {
			ch.Stop(err)
			return
		}
		_ = ch.Push(presence.EventState, r.presence.List(ch.Topic()))
	}
}

func (r *room) Intercept() []string { return []string{"secret"} }

func (r *room) HandleOut(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) {
	if strings.HasPrefix(r.user, "admin") {
		_ = ch.Push(event, p)
	}
}

// bench is the bench:* channel: as cheap as a channel can be.
type bench struct{}

func (bench) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

func (bench) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	switch event {
	case "echo":
		return channel.OK(p)
	case "new_msg":
		var m struct {
			Body any `json:"body"`
		}
		if err := p.Decode(&m); err != nil {
			return channel.Error(channel.Reason("bad payload"))
		}
		name := ch.Assigns().(*user).name
		if err := ch.Broadcast(ctx, "new_msg", map[string]any{"user": name, "body": m.Body}); err != nil {
			return channel.Error(channel.Reason("broadcast failed"))
		}
		return channel.OK(map[string]any{"body": m.Body})
	}
	return channel.Error(channel.Reason("unknown event " + event))
}
