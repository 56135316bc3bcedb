package api

import (
	"net/http"
	"time"

	"github.com/suzaku-go/suzaku/telemetry"
)

// unmatchedRoute labels a request no ServeMux pattern matched, so that a
// scanner's random paths stay one label.
const unmatchedRoute = "unmatched"

// Telemetry is middleware that reports every request to hook as a
// telemetry.KindAPIRequest event: the route pattern the ServeMux matched
// ("GET /api/rooms/{id}", never the path itself, so labels stay bounded),
// the status and the duration. Put it directly around the ServeMux: the
// mux records the pattern on the request it is given. A nil hook disables
// the middleware.
func Telemetry(hook telemetry.Hook) func(http.Handler) http.Handler {
	if hook == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := wrap(w)
			defer func() {
				status := rec.status
				switch {
				case rec.hijacked:
					status = http.StatusSwitchingProtocols
				case !rec.wroteHeader:
					status = http.StatusOK
				}
				route := r.Pattern
				if route == "" {
					route = unmatchedRoute
				}
				hook.Event(telemetry.Event{Kind: telemetry.KindAPIRequest, Pattern: route, Code: status, Duration: time.Since(start)})
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
