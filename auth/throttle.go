package auth

import (
	"net/http"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/internal/clientip"
)

// Rate is a token bucket: Burst attempts at once, then one more every
// Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Defaults of [ThrottleConfig].
var (
	// DefaultAccountRate allows 10 failed logins per account, then one
	// every 30 s: a guesser gets 2,880 guesses a day instead of millions.
	DefaultAccountRate = Rate{Burst: 10, Every: 30 * time.Second}
	// DefaultIPRate allows 30 login attempts per client address, then one
	// every 2 s.
	DefaultIPRate = Rate{Burst: 30, Every: 2 * time.Second}
)

// DefaultThrottleMaxKeys bounds the accounts and addresses a [Throttle]
// remembers.
const DefaultThrottleMaxKeys = 100_000

// ThrottleConfig configures a [Throttle]. The zero value is valid.
type ThrottleConfig struct {
	// Account limits the failed logins per account name. Zero means
	// DefaultAccountRate; a negative Burst turns it off.
	Account Rate
	// IP limits the login attempts, failed or not, per client address (an
	// IPv6 client's /64). Zero means DefaultIPRate; a negative Burst turns
	// it off.
	IP Rate
	// TrustedProxies lists the proxies whose X-Forwarded-For tells the
	// client's address, as transport.WebSocketConfig.TrustedProxies.
	TrustedProxies []string
	// MaxKeys bounds the accounts plus addresses remembered; when full,
	// buckets that have refilled are forgotten, and if none has, new keys
	// are refused (fail closed). Zero means DefaultThrottleMaxKeys.
	MaxKeys int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Throttle slows down password guessing: login attempts per client
// address and failed logins per account, each a token bucket. Ask
// [Throttle.Allow] before checking a password, tell [Throttle.Failed] or
// [Throttle.Succeeded] after. It is safe for concurrent use, and its
// memory is bounded by MaxKeys.
type Throttle struct {
	account, ip Rate
	resolver    *clientip.Resolver
	maxKeys     int
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*tbucket // "a:" + account, "i:" + address key
}

type tbucket struct {
	tokens float64
	last   time.Time
}

// NewThrottle returns a Throttle for cfg.
func NewThrottle(cfg ThrottleConfig) (*Throttle, error) {
	res, err := clientip.NewResolver(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	t := &Throttle{account: cfg.Account, ip: cfg.IP, resolver: res, maxKeys: cfg.MaxKeys, now: cfg.Now, buckets: map[string]*tbucket{}}
	if t.account == (Rate{}) {
		t.account = DefaultAccountRate
	}
	if t.ip == (Rate{}) {
		t.ip = DefaultIPRate
	}
	if t.maxKeys <= 0 {
		t.maxKeys = DefaultThrottleMaxKeys
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// Allow reports whether a login attempt for account from r's client may
// go ahead, and if not, how long to wait (for Retry-After). It takes one
// of the client's tokens; an account's tokens are taken by Failed.
func (t *Throttle) Allow(r *http.Request, account string) (retryAfter time.Duration, ok bool) {
	now := t.now()
	key := "i:" + clientip.Key(t.resolver.IP(r))
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.take("a:"+account, t.account, now, false); w > 0 {
		return w, false
	}
	if w := t.take(key, t.ip, now, true); w > 0 {
		return w, false
	}
	return 0, true
}

// Take takes one of key's tokens of the Account rate, for limits on
// other costly actions (creating rooms, sending invitations): it reports
// whether one was left, and if not, how long until there is.
func (t *Throttle) Take(key string) (retryAfter time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.take("a:"+key, t.account, t.now(), true)
	return w, w == 0
}

// Failed takes one of account's tokens.
func (t *Throttle) Failed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.take("a:"+account, t.account, t.now(), true)
}

// Succeeded forgets account's failures.
func (t *Throttle) Succeeded(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.buckets, "a:"+account)
}

// take refills key's bucket and, if it holds a token, takes it when
// consume is set; it returns 0, or how long until a token. t.mu is held.
func (t *Throttle) take(key string, rate Rate, now time.Time, consume bool) time.Duration {
	if rate.Burst < 0 || rate.Every <= 0 {
		return 0
	}
	b := t.buckets[key]
	if b == nil {
		if !consume {
			return 0 // a full bucket: nothing to remember yet
		}
		if len(t.buckets) >= t.maxKeys && !t.sweep(now) {
			return rate.Every // full of live buckets: fail closed
		}
		b = &tbucket{tokens: float64(rate.Burst), last: now}
		t.buckets[key] = b
	}
	b.tokens = min(float64(rate.Burst), b.tokens+float64(now.Sub(b.last))/float64(rate.Every))
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(rate.Every))
	}
	if consume {
		b.tokens--
	}
	return 0
}

// sweep forgets the buckets that have refilled, and reports whether it
// made room.
func (t *Throttle) sweep(now time.Time) bool {
	for k, b := range t.buckets {
		rate := t.ip
		if k[0] == 'a' {
			rate = t.account
		}
		if b.tokens+float64(now.Sub(b.last))/float64(rate.Every) >= float64(rate.Burst) {
			delete(t.buckets, k)
		}
	}
	return len(t.buckets) < t.maxKeys
}

// Len returns how many accounts and addresses the throttle remembers.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}
