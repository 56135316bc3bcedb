package main

import (
	"context"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/stream"
)

// streamLimits is what the stream:* topics keep: the last 100 messages,
// for 5 minutes (the contract's "Channel stream:*").
var streamLimits = stream.Limits{Size: 100, TTL: 5 * time.Minute}

// streamTopic is the stream:* channel: joins always succeed (the channel
// layer adds the epoch, the offset and, for a recovering join, recovered);
// new_msg publishes {"user", "body"} to every subscriber and answers with
// the message's offset. No presence, timers or interception.
type streamTopic struct{}

func (streamTopic) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return nil, nil
}

func (streamTopic) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	if event != "new_msg" {
		return channel.Error(channel.Reason("unknown event"))
	}
	var m struct {
		Body any `json:"body"`
	}
	if err := p.Decode(&m); err != nil {
		return channel.Error(channel.Reason("bad payload"))
	}
	pos, err := ch.Publish(ctx, "new_msg", map[string]any{"user": ch.Assigns().(*user).name, "body": m.Body})
	if err != nil {
		return channel.Error(channel.Reason("publish failed"))
	}
	return channel.OK(map[string]uint64{"offset": pos.Offset})
}
