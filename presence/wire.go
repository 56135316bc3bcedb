package presence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// The replication messages, as the package doc describes them. Encoding
// sorts everything, so that the same message always has the same bytes.

// Events of the replication topic.
const (
	eventHeartbeat   = "heartbeat"
	eventTransferReq = "transfer_req"
	eventTransferAck = "transfer_ack"
	eventPermdown    = "graceful_permdown"
)

// wireVersion is the "v" of every message; a message with another is
// dropped, so that a cluster can be upgraded by changing it.
const wireVersion = 1

type wireMessage struct {
	V        int           `json:"v"`
	Replicas []wireReplica `json:"replicas"`
	Clock    []wireClock   `json:"clock,omitempty"`
	State    *wireState    `json:"state,omitempty"`
}

type wireReplica struct {
	Node string `json:"node"`
	Vsn  int64  `json:"vsn"`
}

type wireClock struct {
	R int    `json:"r"`
	C uint64 `json:"c"`
}

type wireCloud struct {
	R int      `json:"r"`
	C []uint64 `json:"c"`
}

type wireState struct {
	Full    bool        `json:"full,omitempty"`
	Context []wireClock `json:"context,omitempty"`
	Start   []wireClock `json:"start,omitempty"`
	End     []wireClock `json:"end,omitempty"`
	Clouds  []wireCloud `json:"clouds,omitempty"`
	Values  []wireValue `json:"values,omitempty"`
}

type wireValue struct {
	R int             `json:"r"`
	C uint64          `json:"c"`
	T string          `json:"t"`
	K string          `json:"k"`
	M json.RawMessage `json:"m"`
}

// message is a decoded replication message.
type message struct {
	from  replica
	clock clock  // nil when absent
	state *delta // nil when absent
}

// replicaTable numbers the replicas of a message, the sender first.
type replicaTable struct {
	list  []wireReplica
	index map[replica]int
}

func newReplicaTable(from replica) *replicaTable {
	t := &replicaTable{index: map[replica]int{}}
	t.id(from)
	return t
}

func (t *replicaTable) id(r replica) int {
	if i, ok := t.index[r]; ok {
		return i
	}
	i := len(t.list)
	t.index[r] = i
	t.list = append(t.list, wireReplica{Node: r.node, Vsn: r.vsn})
	return i
}

// encodeMessage encodes a replication message from sender with an
// optional clock and state. The replica table lists the replicas in the
// order they first appear, after sending, in sorted walks, so the bytes
// are deterministic.
func encodeMessage(m *message) ([]byte, error) {
	rt := newReplicaTable(m.from)
	w := wireMessage{V: wireVersion}
	w.Clock = rt.clock(m.clock)
	if d := m.state; d != nil {
		ws := &wireState{Full: d.full}
		if d.full {
			ws.Context = rt.clock(d.context)
		} else {
			ws.Start = rt.clock(d.start)
			ws.End = rt.clock(d.end)
		}
		for _, r := range sortedReplicas(d.clouds) {
			cs := make([]uint64, 0, len(d.clouds[r]))
			for c := range d.clouds[r] {
				cs = append(cs, c)
			}
			slices.Sort(cs)
			ws.Clouds = append(ws.Clouds, wireCloud{R: rt.id(r), C: cs})
		}
		tags := make([]tag, 0, len(d.values))
		for t := range d.values {
			tags = append(tags, t)
		}
		slices.SortFunc(tags, compareTag)
		for _, t := range tags {
			v := d.values[t]
			ws.Values = append(ws.Values, wireValue{R: rt.id(t.r), C: t.c, T: v.topic, K: v.key, M: v.raw})
		}
		w.State = ws
	}
	w.Replicas = rt.list
	return marshalJSON(&w)
}

// marshalJSON is json.Marshal without HTML escaping, as Phoenix's Jason
// encodes, and so that metas are forwarded byte for byte.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (t *replicaTable) clock(c clock) []wireClock {
	if c == nil {
		return nil
	}
	out := make([]wireClock, 0, len(c))
	for _, r := range sortedReplicas(c) {
		out = append(out, wireClock{R: t.id(r), C: c[r]})
	}
	return out
}

func sortedReplicas[V any](m map[replica]V) []replica {
	rs := make([]replica, 0, len(m))
	for r := range m {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, compareReplica)
	return rs
}

var errBadMessage = errors.New("presence: bad replication message")

// decodeMessage decodes and checks a replication message. Anything that
// does not hold together (an unknown version, a replica index out of
// range, a duplicate replica or dot, a dot of clock zero, a meta that is
// not a JSON object) is an error wrapping errBadMessage, never a panic:
// these bytes come from the network.
func decodeMessage(data []byte) (*message, error) {
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadMessage, err)
	}
	if w.V != wireVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errBadMessage, w.V, wireVersion)
	}
	if len(w.Replicas) == 0 {
		return nil, fmt.Errorf("%w: no sender", errBadMessage)
	}
	reps := make([]replica, len(w.Replicas))
	seen := make(map[replica]bool, len(w.Replicas))
	for i, wr := range w.Replicas {
		r := replica{node: wr.Node, vsn: wr.Vsn}
		if r.node == "" {
			return nil, fmt.Errorf("%w: replica %d has no node", errBadMessage, i)
		}
		if seen[r] {
			return nil, fmt.Errorf("%w: replica %d listed twice", errBadMessage, i)
		}
		seen[r] = true
		reps[i] = r
	}
	rep := func(i int) (replica, error) {
		if i < 0 || i >= len(reps) {
			return replica{}, fmt.Errorf("%w: replica index %d out of range", errBadMessage, i)
		}
		return reps[i], nil
	}
	decodeClock := func(name string, wc []wireClock) (clock, error) {
		c := make(clock, len(wc))
		for _, e := range wc {
			r, err := rep(e.R)
			if err != nil {
				return nil, err
			}
			if _, dup := c[r]; dup {
				return nil, fmt.Errorf("%w: %s lists replica %d twice", errBadMessage, name, e.R)
			}
			c[r] = e.C
		}
		return c, nil
	}
	m := &message{from: reps[0]}
	var err error
	if len(w.Clock) > 0 { // an empty clock is no clock
		if m.clock, err = decodeClock("clock", w.Clock); err != nil {
			return nil, err
		}
	}
	ws := w.State
	if ws == nil {
		return m, nil
	}
	d := &delta{full: ws.Full, clouds: clouds{}, values: make(map[tag]*value, len(ws.Values))}
	if ws.Full {
		if len(ws.Start) > 0 || len(ws.End) > 0 {
			return nil, fmt.Errorf("%w: full state with a range", errBadMessage)
		}
		if d.context, err = decodeClock("context", ws.Context); err != nil {
			return nil, err
		}
	} else {
		if len(ws.Context) > 0 {
			return nil, fmt.Errorf("%w: delta with a context", errBadMessage)
		}
		if d.start, err = decodeClock("start", ws.Start); err != nil {
			return nil, err
		}
		if d.end, err = decodeClock("end", ws.End); err != nil {
			return nil, err
		}
		if len(d.start) != len(d.end) {
			return nil, fmt.Errorf("%w: range start and end differ in replicas", errBadMessage)
		}
		for r, s := range d.start {
			e, ok := d.end[r]
			if !ok || e < s {
				return nil, fmt.Errorf("%w: bad range for %q", errBadMessage, r.node)
			}
		}
	}
	for _, wc := range ws.Clouds {
		r, err := rep(wc.R)
		if err != nil {
			return nil, err
		}
		for _, c := range wc.C {
			if c == 0 {
				return nil, fmt.Errorf("%w: dot with clock 0", errBadMessage)
			}
			d.clouds.add(tag{r, c})
		}
	}
	for _, wv := range ws.Values {
		r, err := rep(wv.R)
		if err != nil {
			return nil, err
		}
		t := tag{r, wv.C}
		if t.c == 0 {
			return nil, fmt.Errorf("%w: dot with clock 0", errBadMessage)
		}
		if _, dup := d.values[t]; dup {
			return nil, fmt.Errorf("%w: dot %q/%d listed twice", errBadMessage, r.node, t.c)
		}
		meta, err := decodeMeta(wv.M)
		if err != nil {
			return nil, fmt.Errorf("%w: value %q/%d: %w", errBadMessage, r.node, t.c, err)
		}
		var raw bytes.Buffer
		if err := json.Compact(&raw, wv.M); err != nil {
			return nil, fmt.Errorf("%w: value %q/%d: %w", errBadMessage, r.node, t.c, err)
		}
		d.values[t] = &value{tag: t, topic: wv.T, key: wv.K, meta: meta, raw: raw.Bytes()}
	}
	m.state = d
	return m, nil
}

// decodeMeta decodes a meta, which must be a JSON object.
func decodeMeta(raw []byte) (map[string]any, error) {
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, errors.New("meta is not an object")
	}
	return meta, nil
}
