package httpcache

import (
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxBody is the largest response body the middleware buffers to
// compute an ETag when Config.MaxBody is zero: 1 MiB.
const DefaultMaxBody = 1 << 20

// Config configures [Middleware]. The zero value computes ETags of bodies
// up to DefaultMaxBody and writes no Cache-Control.
type Config struct {
	// Policy is the Cache-Control of the route's 2xx and 304 responses; a
	// handler that sets Cache-Control itself keeps its own. The zero Policy
	// writes none.
	Policy Policy
	// Vary lists request headers that select the response, added to its
	// Vary field (each once) on every GET and HEAD response, for example
	// "Accept-Language". Responses that depend on the Authorization header
	// or a cookie are per-user: give them a Private policy.
	Vary []string
	// NoETag turns off computed ETags: the middleware then buffers nothing
	// and only answers conditional requests from the ETag or Last-Modified
	// the handler sets.
	NoETag bool
	// MaxBody is the largest body, in bytes, buffered to compute an ETag; a
	// larger one is streamed as it is written, without an ETag. Zero means
	// DefaultMaxBody; negative is the same as NoETag.
	MaxBody int
}

// Middleware returns middleware that makes GET and HEAD responses
// cacheable and revalidatable. Other methods pass through untouched.
//
// For a 200 response with no ETag of its own, it buffers the body (up to
// Config.MaxBody), sets a strong ETag computed from it ([ETag]) and
// Content-Length, and answers 304 Not Modified, without the body, when the
// request's If-None-Match matches (weak comparison, or "*") or, without
// If-None-Match, when If-Modified-Since is not older than the
// Last-Modified the handler set. A handler that sets ETag or Last-Modified
// itself is not buffered: its conditions are evaluated when it writes the
// header. See [NotModified] for handlers that can skip rendering.
//
// Streaming stays streaming: a Flush (through http.Flusher or an
// http.ResponseController) sends what is buffered and passes the rest
// through without an ETag, and so does any other use of the underlying
// writer (Hijack, deadlines), which the wrapper reaches through Unwrap.
// A HEAD handler that writes no body gets no computed ETag, since the GET
// response's tag cannot be known; handlers routed with "GET /path"
// patterns serve HEAD by writing the body, which net/http discards, and
// get the same ETag as the GET.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	s := &settings{
		policy: cfg.Policy.String(),
		vary:   cfg.Vary,
		max:    cfg.MaxBody,
	}
	if s.max == 0 {
		s.max = DefaultMaxBody
	}
	s.etag = !cfg.NoETag && s.max > 0
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			cw := &writer{w: w, r: r, s: s}
			next.ServeHTTP(cw, r)
			cw.finish()
		})
	}
}

type settings struct {
	policy string
	vary   []string
	etag   bool
	max    int
}

// state is where a writer is in a response.
type state uint8

const (
	stateInit    state = iota // nothing written yet
	stateBuffer               // a 200 whose body is being buffered
	stateDirect               // everything goes to the underlying writer
	stateDiscard              // 304 sent: the body is dropped
)

// writer is the middleware's http.ResponseWriter. Header is the
// underlying writer's header map; the status waits for the decision
// between 200 and 304.
type writer struct {
	w         http.ResponseWriter
	r         *http.Request
	s         *settings
	state     state
	decorated bool // Vary and Cache-Control applied
	buf       []byte
}

func (cw *writer) Header() http.Header { return cw.w.Header() }

func (cw *writer) WriteHeader(code int) {
	switch cw.state {
	case stateInit:
		if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
			cw.w.WriteHeader(code) // 103 Early Hints and the like
			return
		}
		cw.start(code)
	case stateDirect:
		cw.decorate(code)
		cw.w.WriteHeader(code)
	}
	// Buffering or discarding: a superfluous call, ignored.
}

func (cw *writer) Write(p []byte) (int, error) {
	switch cw.state {
	case stateInit:
		cw.start(http.StatusOK)
		return cw.Write(p)
	case stateBuffer:
		if len(cw.buf)+len(p) <= cw.s.max {
			cw.buf = append(cw.buf, p...)
			return len(p), nil
		}
		cw.spill()
		return cw.Write(p)
	case stateDiscard:
		return len(p), nil
	}
	cw.decorate(http.StatusOK)
	return cw.w.Write(p)
}

// FlushError sends the buffered response and flushes the underlying
// writer; from then on the response streams, without a computed ETag.
func (cw *writer) FlushError() error {
	switch cw.state {
	case stateInit:
		cw.start(http.StatusOK)
		if cw.state == stateBuffer {
			cw.spill()
		}
	case stateBuffer:
		cw.spill()
	case stateDiscard:
		return nil
	case stateDirect:
		cw.decorate(http.StatusOK)
	}
	return http.NewResponseController(cw.w).Flush()
}

// Flush is FlushError for callers of http.Flusher.
func (cw *writer) Flush() { _ = cw.FlushError() }

// Unwrap returns the underlying writer, for http.ResponseController
// (golang/go#54136). Whatever is buffered is sent first, and the response
// is no longer buffered: the handler is taking over the connection or its
// deadlines.
func (cw *writer) Unwrap() http.ResponseWriter {
	switch cw.state {
	case stateInit:
		cw.state = stateDirect
	case stateBuffer:
		cw.spill()
	}
	return cw.w
}

// start handles the final status of the response.
func (cw *writer) start(code int) {
	cw.decorate(code)
	h := cw.w.Header()
	switch {
	case code != http.StatusOK:
		cw.state = stateDirect
		cw.w.WriteHeader(code)
	case cw.s.etag && h.Get("ETag") == "":
		cw.state = stateBuffer
	case notModified(cw.r, h):
		cw.state = stateDiscard
		writeNotModified(cw.w)
	default:
		cw.state = stateDirect
		cw.w.WriteHeader(code)
	}
}

// spill gives up on the ETag of a buffered 200 and sends what is
// buffered, or a 304 if the handler's Last-Modified allows it.
func (cw *writer) spill() {
	buf := cw.buf
	cw.buf = nil
	if notModified(cw.r, cw.w.Header()) {
		cw.state = stateDiscard
		writeNotModified(cw.w)
		return
	}
	cw.state = stateDirect
	cw.w.WriteHeader(http.StatusOK)
	if len(buf) > 0 {
		_, _ = cw.w.Write(buf)
	}
}

// finish completes the response after the handler returned.
func (cw *writer) finish() {
	if cw.state == stateInit {
		cw.start(http.StatusOK)
	}
	if cw.state != stateBuffer {
		return
	}
	h := cw.w.Header()
	if cw.r.Method == http.MethodHead && len(cw.buf) == 0 {
		cw.spill()
		return
	}
	h.Set("ETag", ETag(cw.buf))
	if notModified(cw.r, h) {
		cw.state = stateDiscard
		writeNotModified(cw.w)
		return
	}
	if h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(cw.buf)))
	}
	cw.state = stateDirect
	cw.w.WriteHeader(http.StatusOK)
	_, _ = cw.w.Write(cw.buf)
	cw.buf = nil
}

// decorate applies Vary and the policy once, before the status line.
func (cw *writer) decorate(code int) {
	if cw.decorated {
		return
	}
	cw.decorated = true
	h := cw.w.Header()
	if len(cw.s.vary) > 0 {
		addVary(h, cw.s.vary)
	}
	if cw.s.policy != "" && (code >= 200 && code < 300 || code == http.StatusNotModified) && h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", cw.s.policy)
	}
}

// addVary adds the names missing from h's Vary field, unless it is "*".
func addVary(h http.Header, names []string) {
	have := map[string]bool{}
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.ToLower(strings.TrimSpace(f))
			if f == "*" {
				return
			}
			have[f] = true
		}
	}
	var add []string
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		if k == "" || have[k] {
			continue
		}
		have[k] = true
		add = append(add, n)
	}
	if len(add) > 0 {
		h.Add("Vary", strings.Join(add, ", "))
	}
}
