package channel

import (
	"fmt"
	"strings"
)

// Router maps topic patterns to handlers. A pattern is an exact topic
// ("lobby") or a prefix ending in "*" ("room:*"). When several patterns
// match, the exact one wins, then the longest prefix. The zero Router has
// no routes; add them before serving.
type Router struct {
	exact    map[string]func() Handler
	prefixes []route // longest first
}

type route struct {
	prefix string
	make   func() Handler
}

// Handle routes pattern to handlers made by newHandler, which is called
// once per join. It returns an error for an empty pattern, a "*" anywhere
// but at the end, or a pattern routed twice.
func (r *Router) Handle(pattern string, newHandler func() Handler) error {
	if pattern == "" || newHandler == nil {
		return fmt.Errorf("channel: route %q: empty pattern or nil handler", pattern)
	}
	star := strings.IndexByte(pattern, '*')
	if star >= 0 && star != len(pattern)-1 {
		return fmt.Errorf("channel: route %q: '*' must be the last character", pattern)
	}
	if star < 0 {
		if _, dup := r.exact[pattern]; dup {
			return fmt.Errorf("channel: route %q: already routed", pattern)
		}
		if r.exact == nil {
			r.exact = make(map[string]func() Handler)
		}
		r.exact[pattern] = newHandler
		return nil
	}
	prefix := pattern[:star]
	i := 0
	for ; i < len(r.prefixes); i++ {
		if r.prefixes[i].prefix == prefix {
			return fmt.Errorf("channel: route %q: already routed", pattern)
		}
		if len(r.prefixes[i].prefix) < len(prefix) {
			break
		}
	}
	r.prefixes = append(r.prefixes, route{})
	copy(r.prefixes[i+1:], r.prefixes[i:])
	r.prefixes[i] = route{prefix: prefix, make: newHandler}
	return nil
}

// Pattern returns the pattern that routes topic ("room:*" for
// "room:42"), or "" when none does. Telemetry labels use it: patterns are
// few, topics are not.
func (r *Router) Pattern(topic string) string {
	if _, ok := r.exact[topic]; ok {
		return topic
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(topic, p.prefix) {
			return p.prefix + "*"
		}
	}
	return ""
}

// Match returns the handler constructor for topic, or nil.
func (r *Router) Match(topic string) func() Handler {
	if h, ok := r.exact[topic]; ok {
		return h
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(topic, p.prefix) {
			return p.make
		}
	}
	return nil
}
