package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/suzaku-go/suzaku/pubsub"
)

// DisconnectTopic is the broker topic that carries disconnect-by-id to
// every node: the payload is the id, as a JSON string. One topic for all
// ids, instead of Phoenix's topic per id, keeps a connection's cost to an
// entry in a local map.
const DisconnectTopic = "phx:disconnect"

// idIndex finds a node's sessions by id.
type idIndex struct {
	mu         sync.Mutex
	byID       map[string]*Session // first session with the id; the rest chain through nextSameID
	subscribed bool
}

// add indexes s, subscribing the socket to DisconnectTopic with the
// first session that has an id.
func (x *idIndex) add(ctx context.Context, sock *Socket, s *Session) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.subscribed {
		if err := sock.broker.Subscribe(ctx, DisconnectTopic, (*disconnectSub)(sock)); err != nil {
			return fmt.Errorf("channel: subscribe %q: %w", DisconnectTopic, err)
		}
		x.subscribed = true
	}
	if x.byID == nil {
		x.byID = make(map[string]*Session)
	}
	s.nextSameID = x.byID[s.id]
	x.byID[s.id] = s
	return nil
}

func (x *idIndex) remove(s *Session) {
	x.mu.Lock()
	defer x.mu.Unlock()
	head := x.byID[s.id]
	if head == s {
		if s.nextSameID == nil {
			delete(x.byID, s.id)
		} else {
			x.byID[s.id] = s.nextSameID
		}
		s.nextSameID = nil
		return
	}
	for p := head; p != nil; p = p.nextSameID {
		if p.nextSameID == s {
			p.nextSameID = s.nextSameID
			s.nextSameID = nil
			return
		}
	}
}

// closeAll closes every local connection with id.
func (x *idIndex) closeAll(id string) {
	x.mu.Lock()
	var conns []Conn
	for p := x.byID[id]; p != nil; p = p.nextSameID {
		conns = append(conns, p.conn)
	}
	x.mu.Unlock()
	for _, c := range conns {
		c.Close(CloseGoingAway, "disconnected")
	}
}

// disconnectSub receives the disconnects of every node.
type disconnectSub Socket

func (d *disconnectSub) Deliver(m *pubsub.Message) {
	if m.Event != EventDisconnect {
		return
	}
	var id string
	if json.Unmarshal(m.Payload, &id) != nil || id == "" {
		return
	}
	(*Socket)(d).ids.closeAll(id)
}
