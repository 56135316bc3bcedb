package channel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// DefaultMaxChannels is the default limit of channels joined at once on one
// connection, as Phoenix 1.8.9+.
const DefaultMaxChannels = 100

// ConnectInfo is what a transport knows about a connecting client.
type ConnectInfo struct {
	// Params are the query parameters of the connect request, vsn included.
	Params url.Values
	// Header holds the request headers.
	Header http.Header
	// RemoteAddr is the peer's address, as in http.Request.
	RemoteAddr string
	// AuthToken is the token phoenix.js sends with its authToken option (in
	// the WebSocket subprotocol, or the x-phoenix-authtoken header on
	// LongPoll); empty when absent.
	AuthToken string
	// Transport is "websocket" or "longpoll".
	Transport string
}

// Config configures a [Socket]. The zero value is valid but routes nothing.
type Config struct {
	// Router routes topics to handlers. Nil routes nothing: every join gets
	// {"reason":"unmatched topic"}.
	Router *Router
	// Broker carries broadcasts. Nil uses a private in-memory broker.
	Broker pubsub.Broker
	// Connect authenticates a connection and returns its assigns, which
	// every channel of the connection sees with [Channel.Assigns]. An error
	// refuses the connection (HTTP 403 unless the error has a
	// HTTPStatus() int method). Nil accepts every connection with nil
	// assigns.
	Connect func(ctx context.Context, info *ConnectInfo) (assigns any, err error)
	// ID names a connection from its assigns, for [Socket.Disconnect]:
	// every connection with that id can be closed at once, on every node.
	// Nil, or an empty id, makes anonymous connections.
	ID func(assigns any) string
	// MaxChannels limits the channels joined at once on one connection.
	// Zero means DefaultMaxChannels; negative means no limit.
	MaxChannels int
	// Streams keeps the history of the topics routed with
	// [Router.HandleStream]. Nil uses a [stream.Memory] over Broker, which
	// is right for one node only: on a cluster, use the store of the
	// broker's adapter, so that offsets and history are the cluster's.
	Streams stream.Store
	// Limits bound the message and join rates of a connection, the size
	// of its topics and payloads, and the bytes it may have waiting in
	// mailboxes. The zero value is [Limits]' safe defaults.
	Limits Limits
	// Logger receives joins and refused joins at Info (with the time Join
	// took), failed joins and crashes at Error (with the stack), each line
	// with the connection's socket_id (see [Session.SocketID]). Nil
	// discards.
	Logger *slog.Logger
	// Hook receives the socket's events: frames in and out, joins, channel
	// ends, handler durations, replies, crashes (package telemetry). The
	// transports serving this socket use it too unless their own Config
	// sets one. Nil costs nothing.
	Hook telemetry.Hook
}

// Socket is the connection-level endpoint of the protocol: it authenticates
// connections and routes their messages to channels. Transports
// (WebSocket, LongPoll) drive it through [Session]s. It is safe for
// concurrent use.
type Socket struct {
	router      *Router
	broker      pubsub.Broker
	streams     stream.Store
	connect     func(ctx context.Context, info *ConnectInfo) (any, error)
	id          func(any) string
	maxChannels int
	limits      Limits
	counters    limitCounters
	log         *slog.Logger
	hook        telemetry.Hook
	ids         idIndex
	sids        socketIDs
	live        atomic.Int64 // channels not yet ended (see Drained)
}

// NewSocket returns a Socket for cfg. It starts nothing.
func NewSocket(cfg Config) (*Socket, error) {
	s := &Socket{
		router:      cfg.Router,
		broker:      cfg.Broker,
		connect:     cfg.Connect,
		id:          cfg.ID,
		maxChannels: cfg.MaxChannels,
		limits:      cfg.Limits.withDefaults(),
		log:         cfg.Logger,
		hook:        cfg.Hook,
		sids:        newSocketIDs(),
	}
	if s.router == nil {
		s.router = &Router{}
	}
	if s.broker == nil {
		s.broker = pubsub.NewMemory(pubsub.MemoryConfig{})
	}
	s.streams = cfg.Streams
	if s.streams == nil {
		mem, err := stream.NewMemory(stream.MemoryConfig{Broker: s.broker})
		if err != nil {
			return nil, err
		}
		s.streams = mem
	}
	if s.maxChannels == 0 {
		s.maxChannels = DefaultMaxChannels
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s, nil
}

// Hook returns Config.Hook, for the transports.
func (s *Socket) Hook() telemetry.Hook { return s.hook }

// Router returns the socket's router.
func (s *Socket) Router() *Router { return s.router }

// Broker returns the broker the socket broadcasts on.
func (s *Socket) Broker() pubsub.Broker { return s.broker }

// Event names with a meaning to the socket itself.
const (
	// EventDisconnect, broadcast on DisconnectTopic with an id, closes
	// every connection with that id (see [Socket.Disconnect]).
	EventDisconnect = "disconnect"
)

// Disconnect closes every connection whose id is id, on every node of the
// broker. Clients reconnect (the close code is 1001), which runs Connect
// again, where the application can now refuse them.
func (s *Socket) Disconnect(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("channel: disconnect: empty id")
	}
	payload, err := json.Marshal(id)
	if err != nil {
		return err
	}
	return s.broker.Broadcast(ctx, &pubsub.Message{Topic: DisconnectTopic, Event: EventDisconnect, Payload: payload})
}

// Broadcast sends event with payload to every subscriber of topic, on every
// node, from outside any channel (Phoenix's Endpoint.broadcast).
func (s *Socket) Broadcast(ctx context.Context, topic, event string, payload any) error {
	if lim, ok := s.router.Stream(topic); ok {
		_, err := s.publish(ctx, topic, lim, event, payload)
		return err
	}
	data, bin, err := encodeValue(payload)
	if err != nil {
		return err
	}
	return s.broker.Broadcast(ctx, &pubsub.Message{Topic: topic, Event: event, Payload: data, Binary: bin})
}

// Connect runs the Config.Connect callback for a new connection and returns
// its session, not yet serving: the transport calls [Session.Serve] once it
// can send frames. ser is the serializer the client negotiated.
func (s *Socket) Connect(ctx context.Context, info *ConnectInfo, ser wire.Serializer) (*Session, error) {
	var assigns any
	if s.connect != nil {
		a, err := s.connect(ctx, info)
		if err != nil {
			return nil, err
		}
		assigns = a
	}
	id := ""
	if s.id != nil {
		id = s.id(assigns)
	}
	sess := newSession(s, ser, assigns, id)
	sess.seq = atomic.AddUint64(&s.sids.next, 1)
	return sess, nil
}

// Conn is what a session needs from its transport.
type Conn interface {
	// Send queues a frame for the client. It must not block; it fails once
	// the connection is closed or its queue is over its limit.
	Send(f wire.Frame) error
	// Close ends the connection with a WebSocket close code and reason
	// (LongPoll ends the session). It must not block.
	Close(code int, reason string)
}

// Close codes the socket uses.
const (
	CloseGoingAway = 1001 // disconnect by id: clients reconnect
)
