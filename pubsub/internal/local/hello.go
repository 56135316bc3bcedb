package local

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Duplicate-name detection. Every HelloPeriod, a connected broker sends a
// hello to its own node name through the server (a direct message, mode
// "only"), carrying its instance id. A node that receives a hello for its
// name with another instance id shares its name with a live node: the
// two lose each other's broadcasts. Hellos never reach subscribers.
const (
	// HelloTopic is the topic of hellos; they are never dispatched.
	HelloTopic = "suzaku:node:hello"
	// HelloEvent is their event.
	HelloEvent = "hello"
	// HelloPeriod is how often a connected broker says hello.
	HelloPeriod = 5 * time.Second
	// duplicateFor is how long a foreign hello keeps the node marked as
	// a duplicate: three periods, so that one lost hello does not clear it.
	duplicateFor = 3 * HelloPeriod
)

// Hello tracks this node's instance and the hellos of namesakes.
type Hello struct {
	once     sync.Once
	instance string
	lastDup  atomic.Int64 // unix ns of the last foreign hello
	Log      *slog.Logger // set before use; the error on detection
	Now      func() time.Time
}

func (h *Hello) init() {
	h.once.Do(func() {
		var b [8]byte
		_, _ = rand.Read(b[:])
		h.instance = hex.EncodeToString(b[:])
		if h.Now == nil {
			h.Now = time.Now
		}
	})
}

// Message returns the hello to send to this node's own name.
func (h *Hello) Message() *pubsub.Message {
	h.init()
	return &pubsub.Message{Topic: HelloTopic, Event: HelloEvent, Payload: []byte(h.instance), Binary: true}
}

// receive handles a hello addressed to this node's name.
func (h *Hello) receive(m *pubsub.Message) {
	h.init()
	if string(m.Payload) == h.instance {
		return // our own, echoed by the server
	}
	now := h.Now().UnixNano()
	if prev := h.lastDup.Swap(now); prev == 0 || now-prev > int64(duplicateFor) {
		if h.Log != nil {
			h.Log.Error("pubsub: another live node has this node's name; the two lose each other's broadcasts: give each node its own name",
				"other_instance", string(m.Payload))
		}
	}
}

// Duplicate reports whether a namesake said hello within the last three
// periods.
func (h *Hello) Duplicate() bool {
	h.init()
	last := h.lastDup.Load()
	return last != 0 && h.Now().UnixNano()-last <= int64(duplicateFor)
}
