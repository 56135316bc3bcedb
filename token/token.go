package token

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math"
	"strings"
	"time"
)

// Errors returned by [Signer.Verify], matching Phoenix.Token's
// {:error, :invalid | :expired | :missing}. Test for them with errors.Is:
// Verify may wrap ErrInvalid with the reason a signed payload was rejected.
var (
	// ErrInvalid means the token is malformed, was not signed with any of
	// the Signer's secrets and salt, holds a payload this package cannot
	// read, or was signed in the future.
	ErrInvalid = errors.New("token: invalid")
	// ErrExpired means the token is authentic but older than the max age.
	ErrExpired = errors.New("token: expired")
	// ErrMissing means the token is the empty string, Phoenix's nil token.
	ErrMissing = errors.New("token: missing")
)

const (
	// DefaultMaxAge is the max age used when [Config.MaxAge] is zero: one
	// day, as in Phoenix.
	DefaultMaxAge = 86400 * time.Second
	// Infinity as a max age means that tokens never expire. Sign stores it
	// as the atom infinity, as Phoenix.Token.sign(…, max_age: :infinity)
	// does; Verify then skips every time check, the signed-at time
	// included, as Plug.Crypto does.
	Infinity time.Duration = math.MaxInt64

	// MinSecretLen is the shortest secret [New] accepts, in bytes.
	MinSecretLen = 32
)

// Key derivation parameters: Plug.Crypto's defaults.
const (
	keyIterations = 1000
	keyLength     = 32
)

// protected headers: base64("HS256"), base64("HS384"), base64("HS512").
const (
	headerHS256 = "SFMyNTY"
	headerHS384 = "SFMzODQ"
	headerHS512 = "SFM1MTI"
)

// Config configures a [Signer]. Secret is required.
type Config struct {
	// Secret is the key base tokens are signed and verified with, Phoenix's
	// secret_key_base. Use the endpoint's secret_key_base to exchange tokens
	// with a Phoenix application. It must be at least MinSecretLen (32)
	// bytes; generate one with crypto/rand or `mix phx.gen.secret`.
	Secret []byte

	// Salt separates kinds of tokens signed with one Secret: a token signed
	// with salt "user socket" does not verify with salt "password reset".
	// It is Phoenix.Token's second argument. The default is "".
	Salt string

	// OldSecrets are previous Secrets, each at least MinSecretLen bytes.
	// Verify accepts tokens signed with them, after trying Secret; Sign
	// never uses them. To rotate, move the current Secret here, set a new
	// one, and drop the old one once MaxAge has passed.
	OldSecrets [][]byte

	// MaxAge is how long tokens are valid, in whole seconds. Sign stores it
	// in the token (Phoenix's :max_age option of sign/4) and Verify
	// enforces it unless given [WithMaxAge] or [WithTokenMaxAge]. Set it to
	// [Infinity] for tokens that never expire. Zero means [DefaultMaxAge],
	// one day.
	MaxAge time.Duration

	// Now returns the current time; tokens record it with millisecond
	// precision. Tests set it to a fixed clock. Nil means time.Now.
	Now func() time.Time
}

// Signer signs and verifies Phoenix.Token-compatible tokens. It is safe for
// concurrent use.
type Signer struct {
	keys   [][]byte // keys[0] is derived from Config.Secret and signs
	maxAge time.Duration
	now    func() time.Time
}

// New checks cfg and derives the signing keys, once, as Plug.Crypto does:
// PBKDF2-HMAC-SHA256(secret, salt, 1000 iterations, 32 bytes).
func New(cfg Config) (*Signer, error) {
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("token: secret is %d bytes, want at least %d", len(cfg.Secret), MinSecretLen)
	}
	maxAge := cfg.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if err := checkSignMaxAge(maxAge); err != nil {
		return nil, fmt.Errorf("token: max age: %w", err)
	}
	s := &Signer{maxAge: maxAge, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	for i, secret := range append([][]byte{cfg.Secret}, cfg.OldSecrets...) {
		if len(secret) < MinSecretLen {
			return nil, fmt.Errorf("token: old secret %d is %d bytes, want at least %d", i-1, len(secret), MinSecretLen)
		}
		key, err := deriveKey(secret, cfg.Salt)
		if err != nil {
			return nil, fmt.Errorf("token: derive key: %w", err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// deriveKey is Plug.Crypto.KeyGenerator.generate(secret, salt) with its
// default options.
func deriveKey(secret []byte, salt string) ([]byte, error) {
	return pbkdf2.Key(sha256.New, string(secret), []byte(salt), keyIterations, keyLength)
}

func checkSignMaxAge(d time.Duration) error {
	switch {
	case d == Infinity:
		return nil
	case d <= 0:
		return fmt.Errorf("%v is not positive", d)
	case d%time.Second != 0:
		return fmt.Errorf("%v is not a whole number of seconds", d)
	}
	return nil
}

// Option is a per-call setting for [Signer.Sign] and [Signer.Verify].
type Option func(*callOptions)

type callOptions struct {
	maxAge      time.Duration
	hasMaxAge   bool
	tokenMaxAge bool
}

// WithMaxAge overrides Config.MaxAge for one call. In Sign, d is the max
// age stored in the token and must be whole seconds or [Infinity]. In
// Verify, a token older than d is expired and d <= 0 expires every token,
// as Phoenix.Token.verify(…, max_age: d) does.
func WithMaxAge(d time.Duration) Option {
	return func(o *callOptions) { o.maxAge, o.hasMaxAge, o.tokenMaxAge = d, true, false }
}

// WithTokenMaxAge makes Verify enforce the max age stored in the token
// instead of Config.MaxAge. That is what Phoenix.Token.verify does when it
// is given no :max_age; use it to honour the :max_age an Elixir application
// chose when it signed. Tokens in the legacy formats carry no max age and
// get 86400 seconds. Sign ignores this option.
func WithTokenMaxAge() Option {
	return func(o *callOptions) { o.hasMaxAge, o.tokenMaxAge = false, true }
}

func collect(opts []Option) callOptions {
	var o callOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// Sign returns a token holding v, signed at Now with the current Secret.
// Phoenix.Token.verify with the same secret_key_base and salt accepts it
// and returns v as the Elixir term described in the package documentation.
//
// v may be nil, a bool, an [Atom], a string or []byte (an Elixir binary),
// any Go integer that fits in an int64, a float64 or float32, a [Tuple], a
// []any, []string, []int or []int64 (a list), or a map[string]any,
// map[string]string, map[Atom]any or map[any]any whose keys are scalars
// (integers, float64, nil, bool, Atom, string). Nested values follow the
// same rules. Map pairs are written sorted (by type as Erlang orders terms,
// then by value), so equal maps make equal tokens.
func (s *Signer) Sign(v any, opts ...Option) (string, error) {
	o := collect(opts)
	maxAge := s.maxAge
	if o.hasMaxAge {
		maxAge = o.maxAge
		if err := checkSignMaxAge(maxAge); err != nil {
			return "", fmt.Errorf("token: sign: max age: %w", err)
		}
	}
	var storedMaxAge any = Atom("infinity")
	if maxAge != Infinity {
		storedMaxAge = int64(maxAge / time.Second)
	}
	payload, err := encodeTerm(Tuple{v, s.now().UnixMilli(), storedMaxAge})
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	enc := base64.RawURLEncoding
	b := make([]byte, 0, len(headerHS256)+2+enc.EncodedLen(len(payload))+enc.EncodedLen(sha256.Size))
	b = append(b, headerHS256+"."...)
	b = enc.AppendEncode(b, payload)
	mac := hmac.New(sha256.New, s.keys[0])
	mac.Write(b)
	b = append(b, '.')
	b = enc.AppendEncode(b, mac.Sum(nil))
	return string(b), nil
}

// Verify checks token's signature against the current Secret and then the
// OldSecrets, checks its age, and returns the data it holds, decoded as the
// package documentation describes. Errors wrap [ErrMissing], [ErrInvalid]
// or [ErrExpired].
//
// The age limit is Config.MaxAge, or the one given by [WithMaxAge] or
// [WithTokenMaxAge]. A token whose signed-at time is later than Now is
// invalid, as in Phoenix.
func (s *Signer) Verify(token string, opts ...Option) (any, error) {
	if token == "" {
		return nil, ErrMissing
	}
	payload, ok := s.open(token)
	if !ok {
		return nil, ErrInvalid
	}
	term, err := decodeTerm(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	data, signedAt, stored, err := unpack(term)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
	}
	o := collect(opts)
	age := maxAge{d: s.maxAge}
	switch {
	case o.tokenMaxAge:
		if age, err = storedMaxAge(stored); err != nil {
			return nil, fmt.Errorf("%w: payload: %v", ErrInvalid, err)
		}
	case o.hasMaxAge:
		age = maxAge{d: o.maxAge}
	}
	if err := age.check(signedAt, s.now().UnixMilli()); err != nil {
		return nil, err
	}
	return data, nil
}

// VerifyString is [Signer.Verify] for tokens whose data is a string (an
// Elixir binary). Other data is [ErrInvalid].
func (s *Signer) VerifyString(token string, opts ...Option) (string, error) {
	return verifyAs[string](s, token, opts)
}

// VerifyInt is [Signer.Verify] for tokens whose data is an integer, such as
// Phoenix.Token.sign(conn, "user socket", user.id). Other data is
// [ErrInvalid].
func (s *Signer) VerifyInt(token string, opts ...Option) (int64, error) {
	return verifyAs[int64](s, token, opts)
}

func verifyAs[T any](s *Signer, token string, opts []Option) (T, error) {
	var zero T
	v, err := s.Verify(token, opts...)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%w: data is %T, want %T", ErrInvalid, v, zero)
	}
	return t, nil
}

// open checks the signature, as Plug.Crypto.MessageVerifier.verify does,
// and returns the decoded payload. The HS384 and HS512 headers, which
// MessageVerifier accepts but Phoenix.Token never produces, use the same
// key.
func (s *Signer) open(token string) ([]byte, bool) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return nil, false
	}
	var h func() hash.Hash
	switch header {
	case headerHS256:
		h = sha256.New
	case headerHS384:
		h = sha512.New384
	case headerHS512:
		h = sha512.New
	default:
		return nil, false
	}
	// Strict rejects non-zero padding bits, so each MAC has one spelling.
	enc := base64.RawURLEncoding.Strict()
	got, err := enc.DecodeString(sig)
	if err != nil {
		return nil, false
	}
	signed := token[:len(header)+1+len(payload)]
	var sum [sha512.Size]byte
	for _, key := range s.keys {
		mac := hmac.New(h, key)
		mac.Write([]byte(signed))
		if hmac.Equal(mac.Sum(sum[:0]), got) {
			p, err := enc.DecodeString(payload)
			return p, err == nil
		}
	}
	return nil, false
}

// unpack takes apart the decoded payload as Plug.Crypto's decode/2 does: a
// {data, signed_at_ms, max_age} tuple, or the two legacy shapes
// {data, signed_at_ms} and %{data: data, signed: signed_at_ms}, whose max
// age is 86400 seconds.
func unpack(term any) (data any, signedAt int64, maxAge any, err error) {
	legacyMaxAge := int64(DefaultMaxAge / time.Second)
	var signed any
	switch t := term.(type) {
	case Tuple:
		switch len(t) {
		case 3:
			data, signed, maxAge = t[0], t[1], t[2]
		case 2:
			data, signed, maxAge = t[0], t[1], legacyMaxAge
		default:
			return nil, 0, nil, fmt.Errorf("tuple of %d elements", len(t))
		}
	case map[Atom]any:
		var ok1, ok2 bool
		data, ok1 = t["data"]
		signed, ok2 = t["signed"]
		if !ok1 || !ok2 {
			return nil, 0, nil, errors.New("map without data and signed")
		}
		maxAge = legacyMaxAge
	case map[any]any: // %{data: …, signed: …} plus keys that are not atoms
		var ok1, ok2 bool
		data, ok1 = t[Atom("data")]
		signed, ok2 = t[Atom("signed")]
		if !ok1 || !ok2 {
			return nil, 0, nil, errors.New("map without data and signed")
		}
		maxAge = legacyMaxAge
	default:
		return nil, 0, nil, fmt.Errorf("%T is not a token tuple", term)
	}
	signedAt, ok := signed.(int64)
	if !ok {
		return nil, 0, nil, fmt.Errorf("signed-at is %T, want integer", signed)
	}
	return data, signedAt, maxAge, nil
}

// maxAge is a max age from the Config, an Option or a token.
type maxAge struct {
	d time.Duration
	// secs is a max age read from a token, in seconds; it is used when
	// fromToken is set, and d is ignored.
	secs      float64
	fromToken bool
}

// storedMaxAge reads the max age found in a token: integer or float
// seconds, or the atom infinity.
func storedMaxAge(v any) (maxAge, error) {
	switch v := v.(type) {
	case Atom:
		if v == "infinity" {
			return maxAge{d: Infinity}, nil
		}
	case int64:
		return maxAge{secs: float64(v), fromToken: true}, nil
	case float64:
		return maxAge{secs: v, fromToken: true}, nil
	}
	return maxAge{}, fmt.Errorf("max age is %#v, want seconds or infinity", v)
}

// check is Plug.Crypto's validate_age/2: an infinite max age accepts any
// token, a max age <= 0 none, a signed-at time after now is invalid, and
// a token is expired once more than trunc(max_age_seconds * 1000)
// milliseconds have passed since it was signed.
func (a maxAge) check(signedAt, now int64) error {
	var ms int64
	switch {
	case !a.fromToken && a.d == Infinity:
		return nil
	case !a.fromToken && a.d <= 0, a.fromToken && a.secs <= 0:
		return ErrExpired
	case !a.fromToken:
		ms = a.d.Milliseconds()
	case a.secs*1000 >= math.MaxInt64: // also the int64 seconds that would overflow
		ms = math.MaxInt64
	default:
		ms = int64(a.secs * 1000)
	}
	if signedAt > now {
		return ErrInvalid
	}
	// now >= signedAt, so the difference is non-negative unless it wrapped.
	if elapsed := now - signedAt; elapsed < 0 || elapsed > ms {
		return ErrExpired
	}
	return nil
}
