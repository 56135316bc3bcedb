package presence

import (
	"fmt"
	"slices"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Coalescing diffs on large topics.
//
// Every change to a topic's presences is a presence_diff to each of its
// subscribers, so n users joining a topic cost n² frames: 25 million for
// 5,000 users, most of a minute of CPU on two cores. On a topic with more
// than Config.CoalesceAbove local subscribers (known through
// [pubsub.LocalCounter]), the Tracker sends the first diff at once, as
// always, and opens a window of Config.DiffInterval: changes during the
// window are merged into one diff sent when it closes, and while changes
// keep coming each diff opens the next window. A burst of n joins thus
// costs about (burst length ÷ interval) diffs per subscriber instead of
// n, and a lone change on a quiet topic is not delayed at all. Small
// topics (and brokers that cannot count) keep one diff per change, in
// order: their cost is small, and every diff is seen as Phoenix sends it.
//
// Merging keeps what every client ends with the same as receiving the
// diffs one by one, including a client that joined during the window and
// got a presence_state with some of the window's changes in it (see
// merged). A window with nothing pending closes, so that quiet topics
// hold nothing.

// Defaults of [Config]'s coalescing fields.
const (
	DefaultDiffInterval  = 100 * time.Millisecond
	DefaultCoalesceAbove = 100
)

// window is a large topic's coalescing window: the diff merged since the
// last one was sent. Guarded by Tracker.qmu.
type window struct {
	pending merged
	timer   *time.Timer // nil until the diff that opened it was sent
}

// merged is a diff being merged from several, at most one join and one
// leave per value.
//
// A value joined then left within the window is sent as both a join and
// a leave, not dropped: a client that joined the topic meanwhile got the
// value in its presence_state and must see it leave (phoenix.js applies
// a diff's joins, then its leaves, so a client that never had it ends
// without it too). A value left then joined again (its node down and
// back) is sent as a join only, which every client ends with. So the
// pending diff holds at most two entries per value changed during the
// window: bounded by the changes one interval can see.
type merged struct {
	joins, leaves []*value
	joined, left  map[tag]int // index in joins, in leaves
	holes         int         // withdrawn leaves (nil) in leaves
}

// add merges d, whose joins apply before its leaves, after what m holds.
func (m *merged) add(d *diff) {
	if m.joined == nil {
		m.joined, m.left = map[tag]int{}, map[tag]int{}
	}
	for _, v := range d.joins {
		if i, ok := m.left[v.tag]; ok { // left, now back: a join only
			m.leaves[i] = nil
			delete(m.left, v.tag)
			m.holes++
		}
		if i, ok := m.joined[v.tag]; ok {
			m.joins[i] = v
			continue
		}
		m.joined[v.tag] = len(m.joins)
		m.joins = append(m.joins, v)
	}
	for _, v := range d.leaves {
		if _, ok := m.left[v.tag]; ok {
			continue
		}
		m.left[v.tag] = len(m.leaves)
		m.leaves = append(m.leaves, v)
	}
	m.compact()
}

// compact drops withdrawn leaves once they are most of them, so that a
// value going down and up again and again holds no more than itself.
func (m *merged) compact() {
	if m.holes < 64 || 2*m.holes < len(m.leaves) {
		return
	}
	m.leaves = slices.DeleteFunc(m.leaves, func(v *value) bool { return v == nil })
	for i, v := range m.leaves {
		m.left[v.tag] = i
	}
	m.holes = 0
}

// take returns the merged diff for topic and empties m; ok is false if
// nothing is left to send.
func (m *merged) take(topic string) (d diff, ok bool) {
	d = diff{topic: topic}
	d.joins = m.joins
	for _, v := range m.leaves {
		if v != nil {
			d.leaves = append(d.leaves, v)
		}
	}
	*m = merged{}
	return d, len(d.joins)+len(d.leaves) > 0
}

// coalesce returns the diffs of q to publish now, in order, and merges the
// others into their topic's open window; a diff published now on a large
// topic opens one. Called with qmu held.
func (t *Tracker) coalesce(q []diff) []diff {
	if t.diffEvery <= 0 || t.counter == nil {
		return q
	}
	now := make([]diff, 0, len(q))
	for i := range q {
		d := &q[i]
		if w := t.windows[d.topic]; w != nil {
			w.pending.add(d)
			continue
		}
		now = append(now, *d)
		if t.counter.LocalSubscribers(d.topic) > t.coalesceAbove {
			if t.windows == nil {
				t.windows = map[string]*window{}
			}
			t.windows[d.topic] = &window{}
		}
	}
	return now
}

// sent starts the window that d's topic opened, if any, now that the diff
// that opened it is out. Called without qmu.
func (t *Tracker) sent(topic string) {
	t.qmu.Lock()
	defer t.qmu.Unlock()
	if w := t.windows[topic]; w != nil && w.timer == nil {
		w.timer = time.AfterFunc(t.diffEvery, func() { t.closeWindow(topic, w) })
	}
}

// closeWindow sends what w merged, and keeps the window open for another
// interval if it sent anything; a window with nothing pending closes.
func (t *Tracker) closeWindow(topic string, w *window) {
	t.qmu.Lock()
	if t.windows[topic] != w {
		t.qmu.Unlock()
		return
	}
	d, ok := w.pending.take(topic)
	if !ok {
		delete(t.windows, topic)
		t.qmu.Unlock()
		return
	}
	t.qmu.Unlock()
	defer func() {
		// A subscriber that panics must not take the process down from
		// a timer goroutine, nor leave the topic's window stuck open.
		if p := recover(); p != nil {
			t.log.Error("presence diff: subscriber panicked", logTopic, topic, "panic", fmt.Sprint(p))
		}
		t.qmu.Lock()
		w.timer.Reset(t.diffEvery)
		t.qmu.Unlock()
	}()
	t.publish(&d)
}

// localCounter returns the broker's counter of local subscribers, or nil.
func localCounter(b pubsub.Broker) pubsub.LocalCounter {
	c, _ := b.(pubsub.LocalCounter)
	return c
}
