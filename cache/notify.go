package cache

import (
	"context"
	"errors"
)

// Notifier pushes invalidations to clients, so that a single-page app
// knows what to refetch: each one becomes an event (EventInvalidate by
// default) with payload {"keys":[…],"tags":[…]} on a channel topic. Set
// Config.Notify to its Notify method:
//
//	cache.Config{
//		Broker: broker,
//		Notify: cache.Notifier{Broadcast: socket.Broadcast, Topic: "cache"}.Notify,
//	}
//
// The cache calls Notify only on the node where Delete or InvalidateTags
// ran; the channel broadcast itself reaches the clients of every node.
// Keys and tags go to clients as they are: do not put secrets in them.
type Notifier struct {
	// Broadcast sends an event to a topic's subscribers on every node. It
	// has the signature of channel.Socket.Broadcast.
	Broadcast func(ctx context.Context, topic, event string, payload any) error
	// Topic is the channel topic clients join to hear invalidations.
	Topic string
	// Event is the event name. Default EventInvalidate ("invalidate").
	Event string
}

// Notify broadcasts inv on n.Topic. Nil slices are sent as empty arrays.
func (n Notifier) Notify(ctx context.Context, inv Invalidation) error {
	if n.Broadcast == nil || n.Topic == "" {
		return errors.New("cache: notifier without Broadcast or Topic")
	}
	event := n.Event
	if event == "" {
		event = EventInvalidate
	}
	if inv.Keys == nil {
		inv.Keys = []string{}
	}
	if inv.Tags == nil {
		inv.Tags = []string{}
	}
	return n.Broadcast(ctx, n.Topic, event, inv)
}
