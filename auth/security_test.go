package auth_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/token"
)

// fastHasher keeps the tests quick; the limits do not depend on the cost.
var fastHasher = auth.Hasher{Memory: 64, Time: 1}

// TestSecurityJWTMaxLifetime refuses a token signed to live longer than
// MaxLifetime, even with a valid signature.
func TestSecurityJWTMaxLifetime(t *testing.T) {
	t.Parallel()
	clk := newClock()
	j, err := auth.NewJWT(auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, Now: clk.Now})
	testutil.Success(t, err)
	sign := func(life time.Duration, iat bool) string {
		c := jwt.MapClaims{"sub": "u1", "exp": jwt.NewNumericDate(t0.Add(life))}
		if iat {
			c["iat"] = jwt.NewNumericDate(t0)
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(hsSecret)
		testutil.Success(t, err)
		return s
	}
	_, err = j.Authenticate(context.Background(), sign(100*365*24*time.Hour, true))
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = j.Authenticate(context.Background(), sign(100*365*24*time.Hour, false))
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = j.Authenticate(context.Background(), sign(time.Hour, true))
	testutil.Success(t, err)
	_, err = j.Issue(auth.Identity{Subject: "u1", ExpiresAt: t0.Add(48 * time.Hour)})
	testutil.Error(t, err)
	_, err = auth.NewJWT(auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, TTL: 48 * time.Hour})
	testutil.Error(t, err)
}

// TestSecurityPasswordLength refuses new passwords under 8 or over 128
// characters.
func TestSecurityPasswordLength(t *testing.T) {
	t.Parallel()
	p, err := auth.NewPasswords(auth.PasswordsConfig{Hasher: fastHasher})
	testutil.Success(t, err)
	for _, pw := range []string{"", "1234567", string(make([]byte, 129))} {
		testutil.ErrorIs(t, p.Validate(pw), auth.ErrPasswordLength)
		_, err := p.Hash(context.Background(), pw)
		testutil.ErrorIs(t, err, auth.ErrPasswordLength)
	}
	testutil.Success(t, p.Validate("12345678"))
}

// TestSecurityLoginStorm runs 60 checks at once: never more than
// MaxConcurrent hashes run together (each holds the hash's memory), and
// those that cannot get a slot within QueueTimeout fail with ErrBusy.
func TestSecurityLoginStorm(t *testing.T) {
	t.Parallel()
	slow := auth.Hasher{Memory: 8 * 1024, Time: 3}
	p, err := auth.NewPasswords(auth.PasswordsConfig{Hasher: slow, MaxConcurrent: 2, QueueTimeout: 50 * time.Millisecond})
	testutil.Success(t, err)
	hash, err := slow.Hash("correct horse")
	testutil.Success(t, err)
	var busy, done atomic.Int32
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Check(context.Background(), hash, "wrong password")
			if err == auth.ErrBusy {
				busy.Add(1)
			} else if err == nil {
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("60 concurrent checks: %d ran, %d got ErrBusy", done.Load(), busy.Load())
	if busy.Load() == 0 {
		t.Errorf("no check got ErrBusy: hashing is not bounded")
	}
	if done.Load() == 0 {
		t.Errorf("no check ran")
	}
}

// TestSecurityDummyVerify spends the same work on an unknown account as
// on a known one: the time of a login does not tell which names exist.
// Not parallel: it compares timings.
func TestSecurityDummyVerify(t *testing.T) {
	h := auth.Hasher{Memory: 4 * 1024, Time: 2}
	p, err := auth.NewPasswords(auth.PasswordsConfig{Hasher: h, MaxConcurrent: 1})
	testutil.Success(t, err)
	hash, err := h.Hash("correct horse")
	testutil.Success(t, err)
	ok, err := p.Check(context.Background(), "", "anything") // warms the dummy hash up
	testutil.Success(t, err)
	testutil.Equal(t, "unknown account matches", ok, false)
	time1 := func(hash string) time.Duration {
		start := time.Now()
		_, _ = p.Check(context.Background(), hash, "wrong password")
		return time.Since(start)
	}
	known, unknown := time.Hour, time.Hour
	for range 7 { // interleaved, best of 7
		known = min(known, time1(hash))
		unknown = min(unknown, time1(""))
	}
	t.Logf("check: known account %v, unknown %v", known, unknown)
	if ratio := float64(unknown) / float64(known); ratio < 0.5 {
		t.Errorf("unknown account took %v, known %v: ratio %.2f, want about 1", unknown, known, ratio)
	}
}

// TestSecurityThrottle answers the 11th wrong password for an account,
// and the 31st attempt from one address, with a wait, and forgets an
// account's failures after a success.
func TestSecurityThrottle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	th, err := auth.NewThrottle(auth.ThrottleConfig{Now: clk.Now})
	testutil.Success(t, err)
	req := func(ip string) *http.Request { return &http.Request{RemoteAddr: ip + ":1234", Header: http.Header{}} }
	for range 10 {
		_, ok := th.Allow(req("10.0.0.1"), "alice")
		testutil.Equal(t, "attempt", ok, true)
		th.Failed("alice")
	}
	wait, ok := th.Allow(req("10.0.0.2"), "alice")
	testutil.Equal(t, "11th failure for alice, from anywhere", ok, false)
	if wait <= 0 || wait > auth.DefaultAccountRate.Every {
		t.Errorf("Retry-After %v, want in (0, %v]", wait, auth.DefaultAccountRate.Every)
	}
	clk.Set(t0.Add(auth.DefaultAccountRate.Every))
	_, ok = th.Allow(req("10.0.0.2"), "alice")
	testutil.Equal(t, "after a token came back", ok, true)
	th.Succeeded("alice")

	for i := range 30 {
		_, ok := th.Allow(req("10.9.9.9"), "user"+string(rune('a'+i)))
		testutil.Equal(t, "attempt from one address", ok, true)
	}
	_, ok = th.Allow(req("10.9.9.9"), "someone")
	testutil.Equal(t, "31st attempt from one address", ok, false)

	// Bounded memory: a spray of names fills MaxKeys, then fails closed.
	small, err := auth.NewThrottle(auth.ThrottleConfig{MaxKeys: 100, IP: auth.Rate{Burst: -1}, Now: clk.Now})
	testutil.Success(t, err)
	for i := range 1000 {
		small.Failed("spray" + string(rune(i)))
	}
	if n := small.Len(); n > 100 {
		t.Errorf("Len() = %d after a spray, want at most 100", n)
	}
}

// TestSecurityRevocation refuses, after a logout everywhere (the user's
// generation went up), the tokens issued before it, signed tokens and
// JWTs alike, and accepts those issued after.
func TestSecurityRevocation(t *testing.T) {
	t.Parallel()
	signer, err := token.New(token.Config{Secret: hsSecret, Salt: "user socket"})
	testutil.Success(t, err)
	signed, err := auth.NewSigned(auth.SignedConfig{Signer: signer})
	testutil.Success(t, err)
	j, err := auth.NewJWT(auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}})
	testutil.Success(t, err)
	for _, tc := range []struct {
		name string
		a    interface {
			auth.Authenticator
			auth.Issuer
		}
	}{{"signed", signed}, {"jwt", j}} {
		t.Run(tc.name, func(t *testing.T) {
			var gen atomic.Int64
			r, err := auth.NewRevocable(auth.RevocableConfig{Authenticator: tc.a, Issuer: tc.a,
				Generation: func(ctx context.Context, sub string) (int64, error) { return gen.Load(), nil }})
			testutil.Success(t, err)
			ctx := context.Background()
			old, err := r.Issue(ctx, auth.Identity{Subject: "alice"})
			testutil.Success(t, err)
			_, err = r.Authenticate(ctx, old)
			testutil.Success(t, err)
			gen.Add(1) // log out everywhere
			_, err = r.Authenticate(ctx, old)
			testutil.ErrorIs(t, err, auth.ErrRevoked)
			testutil.ErrorIs(t, err, auth.ErrInvalidToken)
			fresh, err := r.Issue(ctx, auth.Identity{Subject: "alice"})
			testutil.Success(t, err)
			_, err = r.Authenticate(ctx, fresh)
			testutil.Success(t, err)
		})
	}
}
