package channel

// topicSet is a session's channels by topic. Most connections join a few
// topics, so it is a slice, searched linearly, until it grows past
// topicIndexAt, when a map takes over the lookups: an idle connection
// with one channel pays for one pointer.
type topicSet struct {
	list []*Channel
	idx  map[string]*Channel
}

const topicIndexAt = 16

func (t *topicSet) get(topic string) *Channel {
	if t.idx != nil {
		return t.idx[topic]
	}
	for _, c := range t.list {
		if c.topic == topic {
			return c
		}
	}
	return nil
}

// put adds c, replacing the channel of the same topic if there is one.
func (t *topicSet) put(c *Channel) {
	for i, old := range t.list {
		if old.topic == c.topic {
			t.list[i] = c
			if t.idx != nil {
				t.idx[c.topic] = c
			}
			return
		}
	}
	t.list = append(t.list, c)
	if t.idx != nil {
		t.idx[c.topic] = c
	} else if len(t.list) > topicIndexAt {
		t.idx = make(map[string]*Channel, len(t.list))
		for _, c := range t.list {
			t.idx[c.topic] = c
		}
	}
}

// del removes c if it still holds its topic.
func (t *topicSet) del(c *Channel) {
	for i, old := range t.list {
		if old == c {
			last := len(t.list) - 1
			t.list[i] = t.list[last]
			t.list[last] = nil
			t.list = t.list[:last]
			if t.idx != nil {
				delete(t.idx, c.topic)
			}
			if len(t.list) == 0 {
				t.list, t.idx = nil, nil
			}
			return
		}
	}
}

func (t *topicSet) len() int { return len(t.list) }
