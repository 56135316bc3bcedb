package suzaku

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultBodyTimeout bounds the reading of any request body the server
// hands to a handler, when [Config].BodyTimeout is zero.
const DefaultBodyTimeout = 30 * time.Second

// bodyDeadlines gives every request that has a body a read deadline of d,
// lifted as soon as the body has been read, so that a client that sends
// a byte every few seconds cannot hold a connection and a handler
// forever. WebSocket upgrades and requests without a body are left alone:
// a held LongPoll GET must not hit a read deadline, which would cancel
// its context.
func bodyDeadlines(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 ||
			strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) != nil {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &liftingBody{ReadCloser: r.Body, rc: rc}
		next.ServeHTTP(w, r)
	})
}

// liftingBody lifts the read deadline once the body is read to its end.
type liftingBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *liftingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
