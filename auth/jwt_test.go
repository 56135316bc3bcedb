package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

var (
	hsSecret    = []byte("0123456789abcdef0123456789abcdef")
	hsSecretOld = []byte("fedcba9876543210fedcba9876543210")
	t0          = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// clock is a settable Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func newJWT(t *testing.T, cfg auth.JWTConfig) *auth.JWT {
	t.Helper()
	j, err := auth.NewJWT(cfg)
	testutil.Success(t, err)
	return j
}

// sign makes a token outside the package, for claims Issue never writes.
func sign(t *testing.T, method jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	testutil.Success(t, err)
	return s
}

func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "42", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestAuthJWTRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  auth.Key
	}{
		{name: "HS256", key: auth.Key{ID: "hs", Key: hsSecret}},
		{name: "RS256", key: auth.Key{ID: "rs", Key: rsaKey()}},
		{name: "ES256", key: auth.Key{ID: "es", Algorithm: auth.ES256, Key: ecKey()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{tt.key}, Issuer: "suzaku", Audience: []string{"api"}, Now: clk.Now})
			tok, err := j.Issue(auth.Identity{Subject: "42", Claims: map[string]any{"role": "admin", "sub": "evil", "iss": "evil"}})
			testutil.Success(t, err)

			header, _, _ := strings.Cut(tok, ".")
			h, err := jwt.NewParser().DecodeSegment(header)
			testutil.Success(t, err)
			if !strings.Contains(string(h), `"alg":"`+tt.name+`"`) || !strings.Contains(string(h), `"kid":"`+tt.key.ID+`"`) {
				t.Fatalf("header = %s, want alg %s and kid %s", h, tt.name, tt.key.ID)
			}

			id, err := j.Authenticate(t.Context(), tok)
			testutil.Success(t, err)
			testutil.Equal(t, "Subject", id.Subject, "42")
			testutil.Equal(t, "role claim", id.Claims["role"], any("admin"))
			testutil.Equal(t, "iss claim", id.Claims["iss"], any("suzaku"))
			testutil.Equal(t, "ExpiresAt", id.ExpiresAt.Equal(t0.Add(auth.DefaultTokenTTL)), true)
			if jti, _ := id.Claims["jti"].(string); jti == "" {
				t.Fatal("no jti claim")
			}
		})
	}
}

func TestAuthJWTExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		leeway  time.Duration
		at      time.Duration // after issue
		wantErr error
	}{
		{name: "fresh", at: 0},
		{name: "just before exp", at: 15*time.Minute - time.Second},
		{name: "at exp", at: 15 * time.Minute, wantErr: auth.ErrTokenExpired},
		{name: "after exp", at: 16 * time.Minute, wantErr: auth.ErrTokenExpired},
		{name: "after exp within leeway", leeway: 2 * time.Minute, at: 16 * time.Minute},
		{name: "after exp beyond leeway", leeway: 2 * time.Minute, at: 18 * time.Minute, wantErr: auth.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, TTL: 15 * time.Minute, Leeway: tt.leeway, Now: clk.Now})
			tok, err := j.Issue(auth.Identity{Subject: "42"})
			testutil.Success(t, err)
			clk.Set(t0.Add(tt.at))
			_, err = j.Authenticate(t.Context(), tok)
			if tt.wantErr == nil {
				testutil.Success(t, err)
				return
			}
			testutil.ErrorIs(t, err, tt.wantErr)
			testutil.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

func TestAuthJWTIssueExpiresAt(t *testing.T) {
	t.Parallel()
	clk := newClock()
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, Now: clk.Now})
	tok, err := j.Issue(auth.Identity{Subject: "42", ExpiresAt: t0.Add(time.Minute)})
	testutil.Success(t, err)
	clk.Set(t0.Add(2 * time.Minute))
	_, err = j.Authenticate(t.Context(), tok)
	testutil.ErrorIs(t, err, auth.ErrTokenExpired)
}

func TestAuthJWTTimeClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		leeway  time.Duration
		wantErr bool
	}{
		{name: "nbf in the future", claims: jwt.MapClaims{"nbf": t0.Add(time.Minute).Unix()}, wantErr: true},
		{name: "nbf in the future within leeway", claims: jwt.MapClaims{"nbf": t0.Add(time.Minute).Unix()}, leeway: 2 * time.Minute},
		{name: "nbf past", claims: jwt.MapClaims{"nbf": t0.Add(-time.Minute).Unix()}},
		{name: "iat in the future", claims: jwt.MapClaims{"iat": t0.Add(time.Hour).Unix()}, wantErr: true},
		{name: "no exp", claims: jwt.MapClaims{"exp": nil}, wantErr: true},
		{name: "no sub", claims: jwt.MapClaims{"sub": nil}, wantErr: true},
		{name: "empty sub", claims: jwt.MapClaims{"sub": ""}, wantErr: true},
		{name: "numeric sub", claims: jwt.MapClaims{"sub": 42}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, Leeway: tt.leeway, Now: clk.Now})
			claims := claimsAt(t0)
			for k, v := range tt.claims {
				if v == nil {
					delete(claims, k)
				} else {
					claims[k] = v
				}
			}
			_, err := j.Authenticate(t.Context(), sign(t, jwt.SigningMethodHS256, "", claims, hsSecret))
			if !tt.wantErr {
				testutil.Success(t, err)
				return
			}
			testutil.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

// TestAuthJWTRotation rotates keys: a token signed with the old key still
// verifies while the old key is in the set, and no longer once removed.
func TestAuthJWTRotation(t *testing.T) {
	t.Parallel()
	clk := newClock()
	oldKey := auth.Key{ID: "2025-01", Key: hsSecretOld}
	newKey := auth.Key{ID: "2025-06", Key: rsaKey()}

	before := newJWT(t, auth.JWTConfig{Keys: []auth.Key{oldKey}, Now: clk.Now})
	oldTok, err := before.Issue(auth.Identity{Subject: "old"})
	testutil.Success(t, err)

	during := newJWT(t, auth.JWTConfig{Keys: []auth.Key{oldKey, newKey}, SigningKey: "2025-06", Now: clk.Now})
	newTok, err := during.Issue(auth.Identity{Subject: "new"})
	testutil.Success(t, err)
	after := newJWT(t, auth.JWTConfig{Keys: []auth.Key{newKey}, Now: clk.Now})

	tests := []struct {
		name    string
		j       *auth.JWT
		tok     string
		wantErr bool
	}{
		{name: "old token, old set", j: before, tok: oldTok},
		{name: "new token, old set", j: before, tok: newTok, wantErr: true},
		{name: "old token during rotation", j: during, tok: oldTok},
		{name: "new token during rotation", j: during, tok: newTok},
		{name: "old token after removal", j: after, tok: oldTok, wantErr: true},
		{name: "new token after removal", j: after, tok: newTok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.j.Authenticate(t.Context(), tt.tok)
			if tt.wantErr {
				testutil.ErrorIs(t, err, auth.ErrInvalidToken)
			} else {
				testutil.Success(t, err)
			}
		})
	}
}

// TestAuthJWTNoKid verifies tokens without a kid with every key of their
// algorithm, so that a set can rotate keys that had no ids.
func TestAuthJWTNoKid(t *testing.T) {
	t.Parallel()
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}, {Key: hsSecretOld}}, Now: newClock().Now})
	for _, secret := range [][]byte{hsSecret, hsSecretOld} {
		_, err := j.Authenticate(t.Context(), sign(t, jwt.SigningMethodHS256, "", claimsAt(t0), secret))
		testutil.Success(t, err)
	}
	_, err := j.Authenticate(t.Context(), sign(t, jwt.SigningMethodHS256, "", claimsAt(t0), []byte("another-secret-of-thirty-two-bytes")))
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)
}

func TestAuthJWTAudienceIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		wantErr bool
	}{
		{name: "right", claims: jwt.MapClaims{"iss": "suzaku", "aud": "api"}},
		{name: "one of the audiences", claims: jwt.MapClaims{"iss": "suzaku", "aud": []string{"other", "admin"}}},
		{name: "wrong audience", claims: jwt.MapClaims{"iss": "suzaku", "aud": "billing"}, wantErr: true},
		{name: "no audience", claims: jwt.MapClaims{"iss": "suzaku"}, wantErr: true},
		{name: "wrong issuer", claims: jwt.MapClaims{"iss": "evil", "aud": "api"}, wantErr: true},
		{name: "no issuer", claims: jwt.MapClaims{"aud": "api"}, wantErr: true},
	}
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, Issuer: "suzaku", Audience: []string{"api", "admin"}, Now: newClock().Now})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			claims := claimsAt(t0)
			for k, v := range tt.claims {
				claims[k] = v
			}
			_, err := j.Authenticate(t.Context(), sign(t, jwt.SigningMethodHS256, "", claims, hsSecret))
			if tt.wantErr {
				testutil.ErrorIs(t, err, auth.ErrInvalidToken)
			} else {
				testutil.Success(t, err)
			}
		})
	}
}

// TestAuthJWTAlgConfusion checks that a token is verified only with a key
// of the algorithm it names.
func TestAuthJWTAlgConfusion(t *testing.T) {
	t.Parallel()
	pub := &rsaKey().PublicKey
	der, err := x509.MarshalPKIXPublicKey(pub)
	testutil.Success(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	rsOnly := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{ID: "rs", Key: pub}}, Now: newClock().Now})
	mixed := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{ID: "hs", Key: hsSecret}, {ID: "rs", Key: rsaKey()}}, Now: newClock().Now})
	claims := claimsAt(t0)

	// The control: the same claims, properly signed, verify.
	_, err = rsOnly.Authenticate(t.Context(), sign(t, jwt.SigningMethodRS256, "rs", claims, rsaKey()))
	testutil.Success(t, err)

	tests := []struct {
		name string
		j    *auth.JWT
		tok  string
	}{
		{name: "HS256 with the RSA public key as secret", j: rsOnly, tok: sign(t, jwt.SigningMethodHS256, "rs", claims, pubPEM)},
		{name: "HS256 with the RSA public key as secret, no kid", j: rsOnly, tok: sign(t, jwt.SigningMethodHS256, "", claims, pubPEM)},
		{name: "HS256 with the modulus as secret", j: rsOnly, tok: sign(t, jwt.SigningMethodHS256, "rs", claims, pub.N.Bytes())},
		{name: "none", j: rsOnly, tok: sign(t, jwt.SigningMethodNone, "", claims, jwt.UnsafeAllowNoneSignatureType)},
		{name: "none with a kid", j: mixed, tok: sign(t, jwt.SigningMethodNone, "hs", claims, jwt.UnsafeAllowNoneSignatureType)},
		{name: "ES256 against an RS256 set", j: rsOnly, tok: sign(t, jwt.SigningMethodES256, "", claims, ecKey())},
		{name: "RS256 token naming the HS key", j: mixed, tok: sign(t, jwt.SigningMethodRS256, "hs", claims, rsaKey())},
		{name: "HS256 token naming the RS key", j: mixed, tok: sign(t, jwt.SigningMethodHS256, "rs", claims, hsSecret)},
		{name: "HS384 with the HS256 key's secret", j: mixed, tok: sign(t, jwt.SigningMethodHS384, "hs", claims, hsSecret)},
		{name: "HS384 with the HS256 key's secret, no kid", j: mixed, tok: sign(t, jwt.SigningMethodHS384, "", claims, hsSecret)},
		{name: "unknown kid", j: mixed, tok: sign(t, jwt.SigningMethodHS256, "nope", claims, hsSecret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.j.Authenticate(t.Context(), tt.tok)
			testutil.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

func TestAuthJWTMalformed(t *testing.T) {
	t.Parallel()
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, Now: newClock().Now})
	good := sign(t, jwt.SigningMethodHS256, "", claimsAt(t0), hsSecret)
	tampered := good[:len(good)-2] + "AA"
	if tampered == good {
		tampered = good[:len(good)-2] + "BB"
	}
	_, err := j.Authenticate(t.Context(), "")
	testutil.ErrorIs(t, err, auth.ErrNoToken)
	for _, tok := range []string{"garbage", "a.b.c", good + ".x", tampered} {
		_, err := j.Authenticate(t.Context(), tok)
		testutil.ErrorIs(t, err, auth.ErrInvalidToken)
	}
}

func TestAuthNewJWT(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	testutil.Success(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	testutil.Success(t, err)
	tests := []struct {
		name string
		cfg  auth.JWTConfig
	}{
		{name: "no keys"},
		{name: "short secret", cfg: auth.JWTConfig{Keys: []auth.Key{{Key: []byte("short")}}}},
		{name: "small RSA key", cfg: auth.JWTConfig{Keys: []auth.Key{{Key: small}}}},
		{name: "P-384 key", cfg: auth.JWTConfig{Keys: []auth.Key{{Key: p384}}}},
		{name: "algorithm of another key type", cfg: auth.JWTConfig{Keys: []auth.Key{{Algorithm: auth.RS256, Key: hsSecret}}}},
		{name: "unsupported algorithm", cfg: auth.JWTConfig{Keys: []auth.Key{{Algorithm: "HS512", Key: hsSecret}}}},
		{name: "unsupported key type", cfg: auth.JWTConfig{Keys: []auth.Key{{Key: "secret as a string, not bytes"}}}},
		{name: "duplicate kid", cfg: auth.JWTConfig{Keys: []auth.Key{{ID: "a", Key: hsSecret}, {ID: "a", Key: hsSecretOld}}}},
		{name: "unknown signing key", cfg: auth.JWTConfig{Keys: []auth.Key{{ID: "a", Key: hsSecret}}, SigningKey: "b"}},
		{name: "negative TTL", cfg: auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}, TTL: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.NewJWT(tt.cfg)
			testutil.Error(t, err)
		})
	}
}

func TestAuthJWTIssueErrors(t *testing.T) {
	t.Parallel()
	verifyOnly := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{ID: "rs", Key: &rsaKey().PublicKey}}})
	_, err := verifyOnly.Issue(auth.Identity{Subject: "42"})
	testutil.Error(t, err)
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}})
	_, err = j.Issue(auth.Identity{})
	testutil.Error(t, err)
	_, err = j.Issue(auth.Identity{Subject: "42", Claims: map[string]any{"bad": func() {}}})
	testutil.Error(t, err)
}
