package channeltest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/wire"
)

// DefaultTimeout is how long an assertion waits for a frame.
const DefaultTimeout = time.Second

// Harness is a socket under test, with an in-memory broker of its own.
type Harness struct {
	t       testing.TB
	socket  *channel.Socket
	broker  pubsub.Broker
	timeout time.Duration

	mu   sync.Mutex
	subs map[string]*recorder // broadcasts seen per topic
}

// New builds a socket from cfg for t. When cfg.Broker is nil, the harness
// makes an in-memory one, which [Harness.Broker] returns.
func New(t testing.TB, cfg channel.Config) *Harness {
	t.Helper()
	if cfg.Broker == nil {
		cfg.Broker = pubsub.NewMemory(pubsub.MemoryConfig{})
	}
	s, err := channel.NewSocket(cfg)
	if err != nil {
		t.Fatalf("channeltest: NewSocket: %v", err)
	}
	return &Harness{t: t, socket: s, broker: cfg.Broker, timeout: DefaultTimeout, subs: map[string]*recorder{}}
}

// Socket is the socket under test.
func (h *Harness) Socket() *channel.Socket { return h.socket }

// Broker is the broker the socket broadcasts on.
func (h *Harness) Broker() pubsub.Broker { return h.broker }

// SetTimeout changes how long assertions wait (DefaultTimeout).
func (h *Harness) SetTimeout(d time.Duration) { h.timeout = d }

// Connect runs the socket's Connect callback with params, as a client
// connecting with these query parameters would, and fails the test if it
// refuses.
func (h *Harness) Connect(params map[string]string) *Client {
	h.t.Helper()
	c, err := h.TryConnect(params)
	if err != nil {
		h.t.Fatalf("channeltest: connect refused: %v", err)
	}
	return c
}

// TryConnect is Connect returning the refusal instead of failing.
func (h *Harness) TryConnect(params map[string]string) (*Client, error) {
	info := &channel.ConnectInfo{Params: map[string][]string{}}
	for k, v := range params {
		info.Params.Set(k, v)
	}
	return h.TryConnectInfo(info)
}

// subscribe records the broadcasts on topic from now on.
func (h *Harness) subscribe(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[topic]; ok {
		return
	}
	r := &recorder{notify: make(chan struct{}, 1)}
	h.subs[topic] = r
	if err := h.broker.Subscribe(context.Background(), topic, r); err != nil {
		h.t.Fatalf("channeltest: subscribe %q: %v", topic, err)
	}
	h.t.Cleanup(func() { _ = h.broker.Unsubscribe(context.Background(), topic, r) })
}

// AssertBroadcast waits for a broadcast of event on topic whose payload
// equals want (compared as JSON), on any topic a client of the harness
// joined. It returns the payload.
func (h *Harness) AssertBroadcast(topic, event string, want any) json.RawMessage {
	h.t.Helper()
	h.mu.Lock()
	r := h.subs[topic]
	h.mu.Unlock()
	if r == nil {
		h.t.Fatalf("channeltest: AssertBroadcast(%q): no client joined that topic", topic)
	}
	return r.await(h.t, h.timeout, func(m Message) bool { return m.Event == event && matches(m.Payload, want) },
		fmt.Sprintf("broadcast %q on %q with %s", event, topic, show(want)))
}

// Message is a frame a client received, or a broadcast the harness saw.
type Message struct {
	Topic   string
	Event   string
	JoinRef string
	Ref     string
	Status  string // replies only
	Payload json.RawMessage
	Binary  []byte // binary payloads
}

// Reply is the answer to a join or a push.
type Reply struct {
	Status   string
	Response json.RawMessage
	Binary   []byte
}

// Decode unmarshals the response into v.
func (r Reply) Decode(v any) error { return json.Unmarshal(r.Response, v) }

// Client is one connection under test.
type Client struct {
	h     *Harness
	sess  *channel.Session
	conn  memConn
	ref   int
	next  int               // first frame not yet consumed by an assertion
	joins map[string]string // topic → join ref
}

// Session is the client's session.
func (c *Client) Session() *channel.Session { return c.sess }

func (c *Client) nextRef() string {
	c.ref++
	return strconv.Itoa(c.ref)
}

// Join joins topic with payload and returns the reply. The harness starts
// recording the topic's broadcasts first, for AssertBroadcast.
func (c *Client) Join(topic string, payload any) Reply {
	c.h.t.Helper()
	c.h.subscribe(topic)
	ref := c.nextRef()
	c.joins[topic] = ref
	c.send(ref, ref, topic, wire.EventJoin, payload)
	return c.awaitReply(topic, ref)
}

// MustJoin joins and fails the test unless the reply is ok.
func (c *Client) MustJoin(topic string, payload any) Reply {
	c.h.t.Helper()
	r := c.Join(topic, payload)
	if r.Status != wire.StatusOK {
		c.h.t.Fatalf("channeltest: join %q = %s %s, want ok", topic, r.Status, r.Response)
	}
	return r
}

// Push sends event with payload on a joined topic and returns its ref, for
// AssertReply. A channel.Binary payload is sent as bytes.
func (c *Client) Push(topic, event string, payload any) string {
	c.h.t.Helper()
	ref := c.nextRef()
	c.send(c.joins[topic], ref, topic, event, payload)
	return ref
}

// Leave leaves topic and waits for the ok reply.
func (c *Client) Leave(topic string) Reply {
	c.h.t.Helper()
	ref := c.nextRef()
	c.send(c.joins[topic], ref, topic, wire.EventLeave, nil)
	return c.awaitReply(topic, ref)
}

// Close closes the connection, as a client going away.
func (c *Client) Close() { c.sess.Close() }

func (c *Client) send(joinRef, ref, topic, event string, payload any) {
	c.h.t.Helper()
	m := wire.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event}
	switch p := payload.(type) {
	case channel.Binary:
		m.Payload, m.Binary = p, true
	case nil:
		m.Payload = []byte("{}")
	default:
		b, err := json.Marshal(p)
		if err != nil {
			c.h.t.Fatalf("channeltest: encode payload: %v", err)
		}
		m.Payload = b
	}
	f, err := wire.V2{}.EncodeClient(&m)
	if err != nil {
		c.h.t.Fatalf("channeltest: encode %q: %v", event, err)
	}
	if err := c.sess.Receive(f); err != nil {
		c.h.t.Fatalf("channeltest: receive %q: %v", event, err)
	}
}

func (c *Client) awaitReply(topic, ref string) Reply {
	c.h.t.Helper()
	m := c.await(func(m Message) bool { return m.Event == wire.EventReply && m.Topic == topic && m.Ref == ref },
		fmt.Sprintf("a reply to ref %s on %q", ref, topic))
	return Reply{Status: m.Status, Response: m.Payload, Binary: m.Binary}
}

// AssertReply waits for the reply to the push ref and checks its status
// and response (compared as JSON; a nil want checks the status only). It
// returns the reply.
func (c *Client) AssertReply(ref, status string, want any) Reply {
	c.h.t.Helper()
	m := c.await(func(m Message) bool { return m.Event == wire.EventReply && m.Ref == ref },
		fmt.Sprintf("a reply to ref %s", ref))
	if m.Status != status || (want != nil && !matchesMessage(m, want)) {
		c.h.t.Fatalf("channeltest: reply to %s = %s %s, want %s %s", ref, m.Status, m.show(), status, show(want))
	}
	return Reply{Status: m.Status, Response: m.Payload, Binary: m.Binary}
}

// AssertPush waits for a push (or broadcast) of event on topic to this
// client whose payload equals want (as JSON; nil matches any payload).
func (c *Client) AssertPush(topic, event string, want any) Message {
	c.h.t.Helper()
	return c.await(func(m Message) bool {
		return m.Topic == topic && m.Event == event && (want == nil || matchesMessage(m, want))
	}, fmt.Sprintf("push %q on %q with %s", event, topic, show(want)))
}

// RefutePush checks that no push of event on topic reaches the client
// within d.
func (c *Client) RefutePush(topic, event string, d time.Duration) {
	c.h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, m := range c.conn.snapshot() {
			if m.Topic == topic && m.Event == event {
				c.h.t.Fatalf("channeltest: unexpected push %q on %q: %s", event, topic, m.show())
			}
		}
		if time.Now().After(deadline) {
			return
		}
		c.conn.wait(time.Until(deadline))
	}
}

// Received returns every frame the client received so far.
func (c *Client) Received() []Message { return c.conn.snapshot() }

// await returns the first frame from c.next on that matches; earlier
// frames that do not match stay available to later assertions.
func (c *Client) await(match func(Message) bool, what string) Message {
	c.h.t.Helper()
	deadline := time.Now().Add(c.h.timeout)
	for {
		msgs := c.conn.snapshot()
		for i := c.next; i < len(msgs); i++ {
			if match(msgs[i]) && !c.conn.used(i) {
				c.conn.use(i)
				return msgs[i]
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range msgs {
				got = append(got, m.Topic+" "+m.Event+" "+m.show())
			}
			c.h.t.Fatalf("channeltest: no %s within %v; received:\n  %s", what, c.h.timeout, strings.Join(got, "\n  "))
		}
		c.conn.wait(time.Until(deadline))
	}
}

func (m Message) show() string {
	if m.Binary != nil {
		return fmt.Sprintf("binary %x", m.Binary)
	}
	return string(m.Payload)
}

// matches compares a JSON payload with want, marshalled to JSON.
func matches(got json.RawMessage, want any) bool {
	if want == nil {
		return true
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil {
		return false
	}
	b, err := json.Marshal(want)
	if err != nil || json.Unmarshal(b, &w) != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}

func matchesMessage(m Message, want any) bool {
	if b, ok := want.(channel.Binary); ok {
		return m.Binary != nil && string(m.Binary) == string(b)
	}
	return m.Binary == nil && matches(m.Payload, want)
}

func show(v any) string {
	if v == nil {
		return "any payload"
	}
	if b, ok := v.(channel.Binary); ok {
		return fmt.Sprintf("binary %x", []byte(b))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// memConn is the client's in-memory connection: it decodes what the
// session sends.
type memConn struct {
	mu     sync.Mutex
	msgs   []Message
	taken  map[int]bool
	closed int
	notify chan struct{}
}

func (c *memConn) Send(f wire.Frame) error {
	m, err := wire.V2{}.DecodeServer(f)
	if err != nil {
		return err
	}
	msg := Message{Topic: m.Topic, Event: m.Event, JoinRef: m.JoinRef, Ref: m.Ref, Status: m.Status}
	if m.Binary {
		msg.Binary = append([]byte{}, m.Payload...)
	} else {
		msg.Payload = append(json.RawMessage(nil), m.Payload...)
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, msg)
	c.mu.Unlock()
	c.poke()
	return nil
}

func (c *memConn) Close(code int, reason string) {
	c.mu.Lock()
	c.closed = code
	c.mu.Unlock()
	c.poke()
}

func (c *memConn) poke() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *memConn) snapshot() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.msgs...)
}

func (c *memConn) used(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken[i]
}

func (c *memConn) use(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken == nil {
		c.taken = map[int]bool{}
	}
	c.taken[i] = true
}

func (c *memConn) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(min(d, 50*time.Millisecond))
	defer t.Stop()
	select {
	case <-c.notify:
	case <-t.C:
	}
}

// CloseCode is the close code the session asked for (disconnect by id:
// 1001), or 0.
func (c *Client) CloseCode() int {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return c.conn.closed
}

// recorder keeps the broadcasts of one topic.
type recorder struct {
	mu     sync.Mutex
	msgs   []Message
	taken  map[int]bool
	notify chan struct{}
}

func (r *recorder) Deliver(m *pubsub.Message) {
	msg := Message{Topic: m.Topic, Event: m.Event}
	if m.Binary {
		msg.Binary = m.Payload
	} else {
		msg.Payload = m.Payload
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) await(t testing.TB, timeout time.Duration, match func(Message) bool, what string) json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for i, m := range r.msgs {
			if !r.taken[i] && match(m) {
				if r.taken == nil {
					r.taken = map[int]bool{}
				}
				r.taken[i] = true
				r.mu.Unlock()
				return m.Payload
			}
		}
		var seen []string
		for _, m := range r.msgs {
			seen = append(seen, m.Event+" "+m.show())
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			sort.Strings(seen)
			t.Fatalf("channeltest: no %s within %v; saw:\n  %s", what, timeout, strings.Join(seen, "\n  "))
		}
		tm := time.NewTimer(min(time.Until(deadline), 50*time.Millisecond))
		select {
		case <-r.notify:
		case <-tm.C:
		}
		tm.Stop()
	}
}
