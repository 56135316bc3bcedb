package presence_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// TestMain fails the package's tests if goroutines outlive them.
func TestMain(m *testing.M) { testutil.Main(m) }

// errExited is the reason a test owner exits with.
var errExited = errors.New("exited")

// owner is a fake channel: an Owner whose exit the test triggers.
type owner struct {
	topic string

	mu    sync.Mutex
	hooks []func(error)
	dead  bool
	added int // OnExit calls
}

func newOwner(topic string) *owner { return &owner{topic: topic} }

func (o *owner) Topic() string { return o.topic }

// OnExit behaves as channel.Channel's: f runs when the owner exits, or at
// once if it has.
func (o *owner) OnExit(f func(error)) {
	o.mu.Lock()
	o.added++
	if o.dead {
		o.mu.Unlock()
		f(errExited)
		return
	}
	o.hooks = append(o.hooks, f)
	o.mu.Unlock()
}

func (o *owner) exit() {
	o.mu.Lock()
	o.dead = true
	hooks := o.hooks
	o.hooks = nil
	o.mu.Unlock()
	for _, f := range hooks {
		f(errExited)
	}
}

func (o *owner) hookCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.added
}

// view is what a client sees of a topic: key → phx_ref → meta as JSON.
type view map[string]map[string]string

// viewOf returns the view of a List.
func viewOf(list map[string]presence.Presence) view {
	v := view{}
	for key, p := range list {
		for _, meta := range p.Metas {
			v.add(key, meta)
		}
	}
	return v
}

func (v view) add(key string, meta map[string]any) (fresh bool) {
	ref, _ := meta["phx_ref"].(string)
	b, err := json.Marshal(meta)
	if err != nil {
		panic(err)
	}
	if v[key] == nil {
		v[key] = map[string]string{}
	}
	_, had := v[key][ref]
	v[key][ref] = string(b)
	return !had
}

func (v view) remove(key string, meta map[string]any) (found bool) {
	ref, _ := meta["phx_ref"].(string)
	if _, ok := v[key][ref]; !ok {
		return false
	}
	delete(v[key], ref)
	if len(v[key]) == 0 {
		delete(v, key)
	}
	return true
}

func (v view) String() string {
	var b strings.Builder
	for _, key := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(&b, "%s:", key)
		for _, ref := range slices.Sorted(maps.Keys(v[key])) {
			fmt.Fprintf(&b, " %s", v[key][ref])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// diffPayload is the payload of presence_diff.
type diffPayload struct {
	Joins  map[string]presence.Presence `json:"joins"`
	Leaves map[string]presence.Presence `json:"leaves"`
}

// recorder is a subscriber that keeps the presence_diff messages it gets
// and applies them as the phoenix client's Presence.syncDiff does (joins,
// then leaves), but strictly: a join of a ref it has, or a leave of one it
// has not, is an error, which a correct stream of diffs never has.
type recorder struct {
	mu       sync.Mutex
	payloads map[string][]string // by topic
	views    map[string]view     // by topic
	errs     []string
}

func newRecorder() *recorder {
	return &recorder{payloads: map[string][]string{}, views: map[string]view{}}
}

func (r *recorder) Deliver(m *pubsub.Message) {
	if m.Event != presence.EventDiff {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads[m.Topic] = append(r.payloads[m.Topic], string(m.Payload))
	var d diffPayload
	if err := json.Unmarshal(m.Payload, &d); err != nil {
		r.errs = append(r.errs, fmt.Sprintf("%s: bad diff %s: %v", m.Topic, m.Payload, err))
		return
	}
	if d.Joins == nil || d.Leaves == nil {
		r.errs = append(r.errs, fmt.Sprintf("%s: diff without joins or leaves: %s", m.Topic, m.Payload))
	}
	v := r.views[m.Topic]
	if v == nil {
		v = view{}
		r.views[m.Topic] = v
	}
	for key, p := range d.Joins {
		for _, meta := range p.Metas {
			if !v.add(key, meta) {
				r.errs = append(r.errs, fmt.Sprintf("%s: join of %s %v, already there", m.Topic, key, meta))
			}
		}
	}
	for key, p := range d.Leaves {
		for _, meta := range p.Metas {
			if !v.remove(key, meta) {
				r.errs = append(r.errs, fmt.Sprintf("%s: leave of %s %v, not there", m.Topic, key, meta))
			}
		}
	}
}

// diffs returns the payloads received on topic.
func (r *recorder) diffs(topic string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.payloads[topic])
}

// check returns an error if the diffs applied to topic do not give want,
// or if any diff did not apply cleanly.
func (r *recorder) check(topic string, want view) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) > 0 {
		return errors.New(strings.Join(r.errs, "\n"))
	}
	got := r.views[topic]
	if got == nil {
		got = view{}
	}
	if got.String() != want.String() {
		return fmt.Errorf("client view of %s:\n%s\nwant:\n%s", topic, got, want)
	}
	return nil
}
