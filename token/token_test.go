package token_test

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/token"
)

const (
	secret    = "suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz"
	oldSecret = "suzaku-old-secret-key-base-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
	salt      = "user socket"
	t0ms      = 1700000000000 // 2023-11-14T22:13:20Z, the signed-at of every vector
)

var t0 = time.UnixMilli(t0ms)

// clock is a settable Now for one test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newSigner returns a Signer with secret and salt whose clock starts at t0;
// edit adjusts the Config first.
func newSigner(t testing.TB, edit func(*token.Config)) (*token.Signer, *clock) {
	t.Helper()
	c := &clock{t: t0}
	cfg := token.Config{Secret: []byte(secret), Salt: salt, Now: c.now}
	if edit != nil {
		edit(&cfg)
	}
	s, err := token.New(cfg)
	testutil.Success(t, err)
	return s, c
}

// mint signs payload bytes the way Plug.Crypto does, independently of the
// package, so tests can build tokens the package would never produce.
func mint(t testing.TB, secret, salt string, payload []byte) string {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, secret, []byte(salt), 1000, 32)
	testutil.Success(t, err)
	return mintWithKey(key, payload)
}

func mintWithKey(key, payload []byte) string {
	text := "SFMyNTY." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(text))
	return text + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestTokenHandBuiltVector builds the token for {"user:42", 1700000000000,
// 86400} byte by byte from the published algorithm and checks that Sign
// produces it, that Verify accepts it, and that Erlang/OTP produced the same.
func TestTokenHandBuiltVector(t *testing.T) {
	t.Parallel()
	payload := []byte{
		131,    // version
		104, 3, // SMALL_TUPLE_EXT, arity 3
		109,        // BINARY_EXT
		0, 0, 0, 7, // length 7
		'u', 's', 'e', 'r', ':', '4', '2',
		110, 6, 0, // SMALL_BIG_EXT, 6 bytes, positive
		0x00, 0x68, 0xE5, 0xCF, 0x8B, 0x01, // 1700000000000 = 0x018BCFE56800, little-endian
		98, 0x00, 0x01, 0x51, 0x80, // INTEGER_EXT 86400 = 0x00015180
	}
	want := mint(t, secret, salt, payload)
	testutil.Equal(t, "hand-built token", want, erlangTokens["string"].token)

	s, _ := newSigner(t, nil)
	got, err := s.Sign("user:42")
	testutil.Success(t, err)
	testutil.Equal(t, `Sign("user:42")`, got, want)

	data, err := s.VerifyString(want)
	testutil.Success(t, err)
	testutil.Equal(t, "VerifyString(hand-built)", data, "user:42")
}

func TestTokenPBKDF2(t *testing.T) {
	t.Parallel()
	// Published PBKDF2-HMAC-SHA256 vectors (P="password", S="salt", dkLen=32),
	// checking the primitive the package builds on.
	for _, tt := range []struct {
		iter int
		want string
	}{
		{1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
		{2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
		{4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
	} {
		key, err := pbkdf2.Key(sha256.New, "password", []byte("salt"), tt.iter, 32)
		testutil.Success(t, err)
		testutil.Equal(t, fmt.Sprintf("pbkdf2.Key(password, salt, %d)", tt.iter), hex.EncodeToString(key), tt.want)
	}
	// The package's derivation (1000 iterations, 32 bytes). The first value
	// is from Python's hashlib.pbkdf2_hmac, the second from Erlang's
	// crypto:pbkdf2_hmac (testdata/vectors.escript) and Python.
	for _, tt := range []struct {
		name, secret, salt, want string
	}{
		{"password", "password", "salt", "632c2812e46d4604102ba7618e9d6d7d2f8128f6266b4a03264d2a0460b7dcb3"},
		{"test secret", secret, salt, "d324ebd97565429d6dbff83af397dcc9624b5466f9806f00f08e9fecdb6dba9c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := token.DeriveKey([]byte(tt.secret), tt.salt)
			testutil.Success(t, err)
			testutil.Equal(t, "DeriveKey", hex.EncodeToString(key), tt.want)
		})
	}
}

func TestTokenSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	for _, tt := range []struct {
		name string
		in   any
		want any // what Verify returns
	}{
		{"string", "user:42", "user:42"},
		{"empty string", "", ""},
		{"bytes", []byte{0, 255, '.'}, "\x00\xff."},
		{"int", 42, int64(42)},
		{"negative", int32(-7), int64(-7)},
		{"int64 max", int64(math.MaxInt64), int64(math.MaxInt64)},
		{"int64 min", int64(math.MinInt64), int64(math.MinInt64)},
		{"uint64", uint64(1 << 40), int64(1 << 40)},
		{"float", 1.25, 1.25},
		{"float32", float32(0.5), 0.5},
		{"nil", nil, nil},
		{"true", true, true},
		{"atom", token.Atom("admin"), token.Atom("admin")},
		{"atom nil", token.Atom("nil"), nil},
		{"tuple", token.Tuple{token.Atom("user"), 42}, token.Tuple{token.Atom("user"), int64(42)}},
		{"list", []any{"a", 1, nil, []any{}}, []any{"a", int64(1), nil, []any{}}},
		{"nil list", []any(nil), []any{}},
		{"strings", []string{"a", "b"}, []any{"a", "b"}},
		{"ints", []int{1, 300}, []any{int64(1), int64(300)}},
		{"byte-sized ints", []int64{104, 105}, []any{int64(104), int64(105)}},
		{"string map", map[string]any{"user_id": 42, "tags": []string{"x"}}, map[string]any{"user_id": int64(42), "tags": []any{"x"}}},
		{"string-string map", map[string]string{"a": "b"}, map[string]any{"a": "b"}},
		{"atom map", map[token.Atom]any{"user_id": 42}, map[token.Atom]any{"user_id": int64(42)}},
		{"any map", map[any]any{1: "one", token.Atom("a"): 2.5, "s": true, false: nil}, map[any]any{int64(1): "one", token.Atom("a"): 2.5, "s": true, false: nil}},
		{"empty map", map[string]any{}, map[string]any{}},
		{"unicode", map[token.Atom]any{"josé": "ünï"}, map[token.Atom]any{"josé": "ünï"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := s.Sign(tt.in)
			testutil.Success(t, err)
			got, err := s.Verify(tok)
			testutil.Success(t, err)
			testutil.Equal(t, "Verify(Sign(v))", got, tt.want)
		})
	}
}

func TestTokenSignDeterministicMaps(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	m := map[string]any{}
	for i := range 50 {
		m[fmt.Sprint("k", i)] = i
	}
	first, err := s.Sign(m)
	testutil.Success(t, err)
	for range 20 {
		again, err := s.Sign(m)
		testutil.Success(t, err)
		testutil.Equal(t, "Sign(same map)", again, first)
	}
}

func TestTokenSignErrors(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	cyclic := []any{nil}
	cyclic[0] = cyclic
	deep := any("x")
	for range 100 {
		deep = []any{deep}
	}
	for _, tt := range []struct {
		name string
		v    any
		opts []token.Option
	}{
		{"struct", struct{}{}, nil},
		{"int-keyed map", map[int]any{1: 1}, nil},
		{"nested unsupported", []any{1, make(chan int)}, nil},
		{"NaN", math.NaN(), nil},
		{"Inf", math.Inf(1), nil},
		{"uint64 overflow", uint64(math.MaxUint64), nil},
		{"long atom", token.Atom(strings.Repeat("a", 256)), nil},
		{"invalid UTF-8 atom", token.Atom("\xff"), nil},
		{"duplicate encoded keys", map[any]any{1: "a", int64(1): "b"}, nil},
		{"nil and atom nil keys", map[any]any{nil: 1, token.Atom("nil"): 2}, nil},
		{"list key", map[any]any{[2]int{1, 2}: 1}, nil},
		{"cyclic", cyclic, nil},
		{"too deep", deep, nil},
		{"max age zero", "x", []token.Option{token.WithMaxAge(0)}},
		{"max age negative", "x", []token.Option{token.WithMaxAge(-time.Second)}},
		{"max age fractional", "x", []token.Option{token.WithMaxAge(1500 * time.Millisecond)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := s.Sign(tt.v, tt.opts...)
			testutil.Error(t, err)
			testutil.Equal(t, "token", tok, "")
		})
	}
	// The payload tuple is the first of the 100 levels the decoder allows,
	// so data may hold 99 nested lists.
	ok := any("x")
	for range 99 {
		ok = []any{ok}
	}
	_, err := s.Sign(ok)
	testutil.Success(t, err)
}

func TestTokenNew(t *testing.T) {
	t.Parallel()
	long := []byte(strings.Repeat("k", token.MinSecretLen))
	for _, tt := range []struct {
		name string
		cfg  token.Config
		ok   bool
	}{
		{"minimal", token.Config{Secret: long}, true},
		{"infinite max age", token.Config{Secret: long, MaxAge: token.Infinity}, true},
		{"no secret", token.Config{}, false},
		{"short secret", token.Config{Secret: long[1:]}, false},
		{"short old secret", token.Config{Secret: long, OldSecrets: [][]byte{long, long[1:]}}, false},
		{"negative max age", token.Config{Secret: long, MaxAge: -time.Second}, false},
		{"fractional max age", token.Config{Secret: long, MaxAge: 1500 * time.Millisecond}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := token.New(tt.cfg)
			if !tt.ok {
				testutil.Error(t, err)
				testutil.Equal(t, "New(cfg)", s, (*token.Signer)(nil))
				return
			}
			testutil.Success(t, err)
		})
	}
}

func TestTokenDefaultNow(t *testing.T) {
	t.Parallel()
	s, err := token.New(token.Config{Secret: []byte(secret)})
	testutil.Success(t, err)
	tok, err := s.Sign(1)
	testutil.Success(t, err)
	id, err := s.VerifyInt(tok)
	testutil.Success(t, err)
	testutil.Equal(t, "VerifyInt", id, int64(1))
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		maxAge time.Duration // Config.MaxAge
		opts   []token.Option
		age    time.Duration // time since signing at verification
		want   error
	}{
		{"fresh", 0, nil, 0, nil},
		{"default max age, at the limit", 0, nil, 24 * time.Hour, nil},
		{"default max age, 1ms past", 0, nil, 24*time.Hour + time.Millisecond, token.ErrExpired},
		{"configured, at the limit", time.Hour, nil, time.Hour, nil},
		{"configured, 1ms past", time.Hour, nil, time.Hour + time.Millisecond, token.ErrExpired},
		{"sub-millisecond past is not past", time.Hour, nil, time.Hour + 999*time.Microsecond, nil},
		{"WithMaxAge shorter", 0, []token.Option{token.WithMaxAge(time.Minute)}, time.Minute + time.Millisecond, token.ErrExpired},
		{"WithMaxAge longer", 0, []token.Option{token.WithMaxAge(14 * 24 * time.Hour)}, 13 * 24 * time.Hour, nil},
		{"WithMaxAge sub-second", 0, []token.Option{token.WithMaxAge(1500 * time.Millisecond)}, 1500 * time.Millisecond, nil},
		{"WithMaxAge zero", 0, []token.Option{token.WithMaxAge(0)}, 0, token.ErrExpired},
		{"WithMaxAge negative", 0, []token.Option{token.WithMaxAge(-time.Second)}, 0, token.ErrExpired},
		{"WithMaxAge infinity", 0, []token.Option{token.WithMaxAge(token.Infinity)}, 100 * 365 * 24 * time.Hour, nil},
		{"configured infinity", token.Infinity, nil, 100 * 365 * 24 * time.Hour, nil},
		{"last option wins", 0, []token.Option{token.WithMaxAge(time.Second), token.WithMaxAge(time.Hour)}, time.Minute, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newSigner(t, func(cfg *token.Config) { cfg.MaxAge = tt.maxAge })
			tok, err := s.Sign("x")
			testutil.Success(t, err)
			c.t = c.t.Add(tt.age)
			_, err = s.Verify(tok, tt.opts...)
			if tt.want == nil {
				testutil.Success(t, err)
				return
			}
			testutil.ErrorIs(t, err, tt.want)
		})
	}
}

// TestTokenStoredMaxAge checks the max age Sign writes into the payload and
// that WithTokenMaxAge enforces it instead of Config.MaxAge.
func TestTokenStoredMaxAge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		maxAge time.Duration // Config.MaxAge
		opts   []token.Option
		stored any
	}{
		{"default", 0, nil, int64(86400)},
		{"configured", time.Hour, nil, int64(3600)},
		{"per call", time.Hour, []token.Option{token.WithMaxAge(2 * time.Minute)}, int64(120)},
		{"infinity", token.Infinity, nil, token.Atom("infinity")},
		{"WithTokenMaxAge ignored", time.Hour, []token.Option{token.WithTokenMaxAge()}, int64(3600)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newSigner(t, func(cfg *token.Config) { cfg.MaxAge = tt.maxAge })
			tok, err := s.Sign("x", tt.opts...)
			testutil.Success(t, err)
			testutil.Equal[any](t, "payload", decodePayload(t, tok), token.Tuple{"x", int64(t0ms), tt.stored})
		})
	}

	// A token that says 60 s, checked by a Signer configured for a day.
	s, c := newSigner(t, nil)
	tok, err := s.Sign("x", token.WithMaxAge(time.Minute))
	testutil.Success(t, err)
	c.t = t0.Add(time.Minute + time.Millisecond)
	_, err = s.Verify(tok)
	testutil.Success(t, err)
	_, err = s.Verify(tok, token.WithTokenMaxAge())
	testutil.ErrorIs(t, err, token.ErrExpired)
	_, err = s.Verify(tok, token.WithTokenMaxAge(), token.WithMaxAge(time.Hour))
	testutil.Success(t, err)
}

func decodePayload(t testing.TB, tok string) any {
	t.Helper()
	parts := strings.Split(tok, ".")
	testutil.Equal(t, "parts", len(parts), 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	testutil.Success(t, err)
	v, err := token.DecodeTerm(b)
	testutil.Success(t, err)
	return v
}

func TestTokenFutureSignedAt(t *testing.T) {
	t.Parallel()
	s, c := newSigner(t, nil)
	c.t = t0.Add(time.Millisecond)
	tok, err := s.Sign("x")
	testutil.Success(t, err)
	c.t = t0
	_, err = s.Verify(tok)
	testutil.ErrorIs(t, err, token.ErrInvalid)
	// Plug.Crypto skips every time check for an infinite max age.
	_, err = s.Verify(tok, token.WithMaxAge(token.Infinity))
	testutil.Success(t, err)
	// A zero max age is checked before the signed-at time.
	_, err = s.Verify(tok, token.WithMaxAge(0))
	testutil.ErrorIs(t, err, token.ErrExpired)
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	old, _ := newSigner(t, func(cfg *token.Config) { cfg.Secret = []byte(oldSecret) })
	current, _ := newSigner(t, nil)
	rotated, _ := newSigner(t, func(cfg *token.Config) { cfg.OldSecrets = [][]byte{[]byte(oldSecret)} })

	oldTok, err := old.Sign("user:1")
	testutil.Success(t, err)
	_, err = current.Verify(oldTok)
	testutil.ErrorIs(t, err, token.ErrInvalid)
	got, err := rotated.VerifyString(oldTok)
	testutil.Success(t, err)
	testutil.Equal(t, "rotated.VerifyString(old token)", got, "user:1")

	// Sign uses the current secret only.
	newTok, err := rotated.Sign("user:1")
	testutil.Success(t, err)
	_, err = current.Verify(newTok)
	testutil.Success(t, err)
	_, err = old.Verify(newTok)
	testutil.ErrorIs(t, err, token.ErrInvalid)

	// Tokens signed with an old secret still expire.
	expiring, c := newSigner(t, func(cfg *token.Config) { cfg.OldSecrets = [][]byte{[]byte(oldSecret)} })
	c.t = t0.Add(24*time.Hour + time.Millisecond)
	_, err = expiring.Verify(oldTok)
	testutil.ErrorIs(t, err, token.ErrExpired)
}

func TestTokenWrongSalt(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	other, _ := newSigner(t, func(cfg *token.Config) { cfg.Salt = "password reset" })
	tok, err := s.Sign("user:1")
	testutil.Success(t, err)
	_, err = other.Verify(tok)
	testutil.ErrorIs(t, err, token.ErrInvalid)
}

func TestTokenMissing(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	_, err := s.Verify("")
	testutil.ErrorIs(t, err, token.ErrMissing)
	_, err = s.VerifyString("")
	testutil.ErrorIs(t, err, token.ErrMissing)
	_, err = s.VerifyInt("")
	testutil.ErrorIs(t, err, token.ErrMissing)
}

func TestTokenTampering(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	tok, err := s.Sign("user:42")
	testutil.Success(t, err)
	other, err := s.Sign("user:43")
	testutil.Success(t, err)
	header, rest, _ := strings.Cut(tok, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	_, otherRest, _ := strings.Cut(other, ".")
	otherPayload, _, _ := strings.Cut(otherRest, ".")

	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// flip changes the character at i to another base64url character whose
	// 6 bits differ from it in bit.
	flip := func(s string, i int, bit uint) string {
		c := alphabet[strings.IndexByte(alphabet, s[i])^(1<<bit)]
		return s[:i] + string(c) + s[i+1:]
	}
	for _, tt := range []struct{ name, tok string }{
		{"payload byte", header + "." + flip(payload, 10, 3) + "." + sig},
		{"payload swapped", header + "." + otherPayload + "." + sig},
		{"signature byte", header + "." + payload + "." + flip(sig, 0, 5)},
		// The last of 43 characters carries 4 MAC bits and 2 zero bits;
		// setting a zero bit must not give a second valid spelling.
		{"signature padding bits", header + "." + payload + "." + flip(sig, len(sig)-1, 0)},
		{"signature padded", tok + "="},
		{"signature truncated", tok[:len(tok)-1]},
		{"signature extended", tok + "A"},
		{"signature empty", header + "." + payload + "."},
		{"header HS384 with HS256 MAC", "SFMzODQ." + payload + "." + sig},
		{"header unknown", "SFMyNTZ." + payload + "." + sig},
		{"header lowercase", strings.ToLower(header) + "." + payload + "." + sig},
		{"extra part", tok + ".x"},
		{"two parts", header + "." + payload},
		{"whitespace", " " + tok},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.tok)
			testutil.ErrorIs(t, err, token.ErrInvalid)
		})
	}
}

func TestTokenGarbage(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	for _, tok := range []string{
		".", "..", "...", "a", "SFMyNTY", "SFMyNTY.", "SFMyNTY..", "SFMyNTY.g2gD.",
		"SFMyNTY.!!!.###", "SFMyNTY.g2gD.abc", "\x00\xff", "ünïcødé.ünï.çødé",
		strings.Repeat("A", 1<<16), "SFMyNTY." + strings.Repeat(".", 100),
	} {
		_, err := s.Verify(tok)
		if !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Verify(%.40q) = %v, want %v", tok, err, token.ErrInvalid)
		}
	}
}

// TestTokenBadPayload signs payloads with a good MAC that Verify must still
// reject as invalid.
func TestTokenBadPayload(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	ms := []byte{110, 6, 0, 0x00, 0x68, 0xE5, 0xCF, 0x8B, 0x01}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	bin := []byte{109, 0, 0, 0, 1, 'x'}
	for _, tt := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"no version", cat([]byte{104, 3}, bin, ms, []byte{97, 1})},
		{"version only", []byte{131}},
		{"truncated", cat([]byte{131, 104, 3}, bin, ms)},
		{"not a tuple", cat([]byte{131}, bin)},
		{"1-tuple", cat([]byte{131, 104, 1}, bin)},
		{"4-tuple", cat([]byte{131, 104, 4}, bin, ms, []byte{97, 1, 97, 1})},
		{"signed-at is a binary", cat([]byte{131, 104, 3}, bin, bin, []byte{97, 1})},
		{"signed-at is a float", cat([]byte{131, 104, 3}, bin, []byte{70, 0x42, 0x78, 0xBC, 0xFE, 0x56, 0x80, 0, 0}, []byte{97, 1})},
		{"pid data", cat([]byte{131, 104, 3, 88}, []byte{119, 1, 'n', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, ms, []byte{97, 1})},
		{"bit binary data", cat([]byte{131, 104, 3, 77, 0, 0, 0, 1, 3, 0xE0}, ms, []byte{97, 1})},
		{"improper list data", cat([]byte{131, 104, 3, 108, 0, 0, 0, 1, 97, 1, 97, 2}, ms, []byte{97, 1})},
		{"bignum data", cat([]byte{131, 104, 3, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, ms, []byte{97, 1})},
		{"map without signed", []byte{131, 116, 0, 0, 0, 1, 119, 4, 'd', 'a', 't', 'a', 97, 1}},
		{"duplicate map keys", cat([]byte{131, 104, 3, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2}, ms, []byte{97, 1})},
		{"compressed, wrong size", []byte{131, 80, 0, 0, 0, 200, 0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}},
		{"compressed, too big", []byte{131, 80, 0x7F, 0, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(mint(t, secret, salt, tt.payload))
			testutil.ErrorIs(t, err, token.ErrInvalid)
		})
	}

	// The stored max age is only read with WithTokenMaxAge.
	badMaxAge := cat([]byte{131, 104, 3}, bin, ms, bin)
	_, err := s.Verify(mint(t, secret, salt, badMaxAge))
	testutil.Success(t, err)
	_, err = s.Verify(mint(t, secret, salt, badMaxAge), token.WithTokenMaxAge())
	testutil.ErrorIs(t, err, token.ErrInvalid)
}

func TestTokenVerifyAs(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, nil)
	intTok, err := s.Sign(42)
	testutil.Success(t, err)
	strTok, err := s.Sign("42")
	testutil.Success(t, err)

	id, err := s.VerifyInt(intTok)
	testutil.Success(t, err)
	testutil.Equal(t, "VerifyInt(int token)", id, int64(42))
	str, err := s.VerifyString(strTok)
	testutil.Success(t, err)
	testutil.Equal(t, "VerifyString(string token)", str, "42")

	_, err = s.VerifyInt(strTok)
	testutil.ErrorIs(t, err, token.ErrInvalid)
	_, err = s.VerifyString(intTok)
	testutil.ErrorIs(t, err, token.ErrInvalid)
}

func BenchmarkVerify(b *testing.B) {
	s, _ := newSigner(b, nil)
	tok, err := s.Sign("user:42")
	testutil.Success(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOldSecret measures a token that only the second key
// accepts, the cost of rotation.
func BenchmarkVerifyOldSecret(b *testing.B) {
	old, _ := newSigner(b, func(cfg *token.Config) { cfg.Secret = []byte(oldSecret) })
	s, _ := newSigner(b, func(cfg *token.Config) { cfg.OldSecrets = [][]byte{[]byte(oldSecret)} })
	tok, err := old.Sign("user:42")
	testutil.Success(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s, _ := newSigner(b, nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign("user:42"); err != nil {
			b.Fatal(err)
		}
	}
}
