package channel

import (
	"fmt"
	"strings"

	"github.com/suzaku-go/suzaku/stream"
)

// Router maps topic patterns to handlers. A pattern is an exact topic
// ("lobby") or a prefix ending in "*" ("room:*"). When several patterns
// match, the exact one wins, then the longest prefix. The zero Router has
// no routes; add them before serving.
type Router struct {
	exact    map[string]route
	prefixes []route // longest first
}

type route struct {
	prefix  string
	pattern string // prefix + "*", kept for Pattern
	make    func() Handler
	stream  *stream.Limits // nil for a plain topic
}

// Handle routes pattern to handlers made by newHandler, which is called
// once per join. It returns an error for an empty pattern, a "*" anywhere
// but at the end, or a pattern routed twice.
func (r *Router) Handle(pattern string, newHandler func() Handler) error {
	return r.handle(pattern, newHandler, nil)
}

// HandleStream routes pattern as Handle does, and makes its topics
// streams: every message broadcast on one of them gets the topic's next
// offset and is kept, within lim (zero fields take the defaults of
// [stream.Limits]), in the Socket's [stream.Store], so that a client that
// rejoins with the last position it saw gets what it missed. See
// "Streams" in the package doc.
func (r *Router) HandleStream(pattern string, newHandler func() Handler, lim stream.Limits) error {
	lim = lim.WithDefaults()
	return r.handle(pattern, newHandler, &lim)
}

func (r *Router) handle(pattern string, newHandler func() Handler, lim *stream.Limits) error {
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
			r.exact = make(map[string]route)
		}
		r.exact[pattern] = route{pattern: pattern, make: newHandler, stream: lim}
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
	r.prefixes[i] = route{prefix: prefix, pattern: pattern, make: newHandler, stream: lim}
	return nil
}

// Pattern returns the pattern that routes topic ("room:*" for
// "room:42"), or "" when none does. Telemetry labels use it: patterns are
// few, topics are not.
func (r *Router) Pattern(topic string) string { return r.match(topic).pattern }

// Match returns the handler constructor for topic, or nil.
func (r *Router) Match(topic string) func() Handler { return r.match(topic).make }

// Stream returns the limits of topic's history when its route was made
// with [Router.HandleStream], and false for any other topic.
func (r *Router) Stream(topic string) (stream.Limits, bool) {
	if rt := r.match(topic); rt.stream != nil {
		return *rt.stream, true
	}
	return stream.Limits{}, false
}

func (r *Router) match(topic string) route {
	if rt, ok := r.exact[topic]; ok {
		return rt
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(topic, p.prefix) {
			return p
		}
	}
	return route{}
}
