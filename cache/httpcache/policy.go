package httpcache

import (
	"strconv"
	"strings"
	"time"
)

// Policy is a Cache-Control policy (RFC 9111 §5.2.2, RFC 5861, RFC 8246).
// Its zero value is no policy: [Policy.String] returns "" and the
// middleware writes no Cache-Control. Durations are written in whole
// seconds, rounded down.
//
// Typical policies:
//
//	Policy{MaxAge: 365 * 24 * time.Hour, Public: true, Immutable: true} // hashed assets
//	Policy{NoCache: true}                      // index.html, API reads: revalidate every time (ETag → 304)
//	Policy{Private: true, NoCache: true}       // per-user API reads
//	Policy{NoStore: true}                      // secrets: never stored
//	Policy{MaxAge: time.Minute, StaleWhileRevalidate: time.Hour}
type Policy struct {
	// MaxAge is how long a response stays fresh (max-age). Zero omits the
	// directive; for max-age=0 semantics use NoCache.
	MaxAge time.Duration
	// SharedMaxAge overrides MaxAge for shared caches such as CDNs
	// (s-maxage). Zero omits it.
	SharedMaxAge time.Duration
	// Public lets shared caches store responses that they would not
	// otherwise, such as those of authenticated requests (public).
	Public bool
	// Private keeps responses out of shared caches: only the browser may
	// store them (private). Use it for per-user data.
	Private bool
	// NoCache makes caches revalidate before every reuse (no-cache), which
	// with an ETag costs a 304 and no body.
	NoCache bool
	// NoStore forbids storing the response at all (no-store).
	NoStore bool
	// MustRevalidate forbids serving the response stale
	// (must-revalidate).
	MustRevalidate bool
	// Immutable tells browsers not to revalidate while fresh, even on
	// reload (immutable): for content-addressed URLs.
	Immutable bool
	// StaleWhileRevalidate lets caches serve a stale response this long
	// while they revalidate in the background (stale-while-revalidate).
	StaleWhileRevalidate time.Duration
	// StaleIfError lets caches serve a stale response this long when the
	// origin fails (stale-if-error).
	StaleIfError time.Duration
}

// String returns the Cache-Control field value of p, directives in a fixed
// order, or "" for the zero Policy.
func (p Policy) String() string {
	var b strings.Builder
	add := func(d string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d)
	}
	addSeconds := func(d string, v time.Duration) {
		if v > 0 {
			add(d + "=" + strconv.FormatInt(int64(v/time.Second), 10))
		}
	}
	if p.Public {
		add("public")
	}
	if p.Private {
		add("private")
	}
	if p.NoCache {
		add("no-cache")
	}
	if p.NoStore {
		add("no-store")
	}
	addSeconds("max-age", p.MaxAge)
	addSeconds("s-maxage", p.SharedMaxAge)
	if p.MustRevalidate {
		add("must-revalidate")
	}
	if p.Immutable {
		add("immutable")
	}
	addSeconds("stale-while-revalidate", p.StaleWhileRevalidate)
	addSeconds("stale-if-error", p.StaleIfError)
	return b.String()
}
