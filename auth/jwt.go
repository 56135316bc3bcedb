package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signature algorithms a [Key] may have.
const (
	HS256 = "HS256" // HMAC-SHA256 with a shared secret of at least 32 bytes
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 SHA-256, RSA key of at least 2048 bits
	ES256 = "ES256" // ECDSA P-256 SHA-256
)

// DefaultTokenTTL is the lifetime of the tokens [JWT.Issue] makes when
// JWTConfig.TTL is zero.
const DefaultTokenTTL = 15 * time.Minute

// DefaultMaxTokenLifetime is the longest lifetime ("exp" minus "iat", or
// minus now) a token may have to be accepted, when
// JWTConfig.MaxLifetime is zero: a token signed to live 100 years is
// refused.
const DefaultMaxTokenLifetime = 24 * time.Hour

// Key is one key of a [JWT] key set.
type Key struct {
	// ID is the key id, the "kid" header of the tokens it signs. Tokens
	// with a kid are verified with that key only; tokens without one with
	// every key of their algorithm. Give each key an ID to rotate keys.
	ID string
	// Algorithm is HS256, RS256 or ES256. Empty means the algorithm of
	// Key's type: HS256 for []byte, RS256 for RSA keys, ES256 for ECDSA.
	Algorithm string
	// Key is a []byte secret (HS256), an *rsa.PrivateKey or
	// *rsa.PublicKey (RS256), or an *ecdsa.PrivateKey or *ecdsa.PublicKey
	// on P-256 (ES256). Public keys only verify.
	Key any
}

// JWTConfig configures a [JWT]. Keys is required.
type JWTConfig struct {
	// Keys is the verification key set. A token is accepted only with the
	// algorithm of the key that verifies it, so an HS256 token is never
	// checked against an RSA key's bytes, and "none" is never accepted.
	// To rotate: add the new key, make it the SigningKey, and remove the
	// old one once the tokens it signed have expired.
	Keys []Key
	// SigningKey is the ID of the key Issue signs with, which must hold a
	// secret or a private key. Empty means Keys[0].
	SigningKey string
	// Issuer, if set, is the "iss" Issue writes and Authenticate requires.
	Issuer string
	// Audience, if set, lists the "aud" values Issue writes; Authenticate
	// requires a token whose "aud" holds at least one of them.
	Audience []string
	// TTL is the lifetime of the tokens Issue makes. Zero means
	// DefaultTokenTTL.
	TTL time.Duration
	// MaxLifetime is the longest lifetime a token may have: Authenticate
	// refuses a token whose "exp" is more than MaxLifetime after its
	// "iat" (or, without "iat", after now), and New refuses a TTL over
	// it. Zero means DefaultMaxTokenLifetime (24 h); negative means no
	// limit.
	MaxLifetime time.Duration
	// Leeway is the clock skew tolerated when checking "exp", "nbf" and
	// "iat". Zero means none.
	Leeway time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// JWT issues and verifies JSON Web Tokens (RFC 7519) with a key set:
// HS256, RS256 and ES256 keys, selected by "kid". Tokens must have "exp"
// and "sub"; "nbf" and "iat" are checked when present. It is safe for
// concurrent use.
type JWT struct {
	byID    map[string]*jwtKey
	byAlg   map[string][]jwt.VerificationKey // verification keys by algorithm
	signing *jwtKey
	parser  *jwt.Parser
	issuer  string
	aud     []string
	ttl     time.Duration
	maxLife time.Duration // <= 0: none
	leeway  time.Duration
	now     func() time.Time
}

var (
	_ Authenticator = (*JWT)(nil)
	_ Issuer        = (*JWT)(nil)
)

type jwtKey struct {
	id     string
	method jwt.SigningMethod
	verify any
	sign   any // nil for public keys
}

// NewJWT checks cfg's keys and returns a JWT.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("auth: jwt: no keys")
	}
	j := &JWT{
		byID:    map[string]*jwtKey{},
		byAlg:   map[string][]jwt.VerificationKey{},
		issuer:  cfg.Issuer,
		aud:     slices.Clone(cfg.Audience),
		ttl:     cfg.TTL,
		maxLife: cfg.MaxLifetime,
		leeway:  cfg.Leeway,
		now:     cfg.Now,
	}
	if j.maxLife == 0 {
		j.maxLife = DefaultMaxTokenLifetime
	}
	if j.ttl == 0 {
		j.ttl = DefaultTokenTTL
	}
	if j.ttl < 0 {
		return nil, fmt.Errorf("auth: jwt: TTL %v is negative", j.ttl)
	}
	if j.maxLife > 0 && j.ttl > j.maxLife {
		return nil, fmt.Errorf("auth: jwt: TTL %v is over MaxLifetime %v", j.ttl, j.maxLife)
	}
	if j.now == nil {
		j.now = time.Now
	}
	var algs []string
	for i, k := range cfg.Keys {
		jk, err := newJWTKey(k)
		if err != nil {
			return nil, fmt.Errorf("auth: jwt: key %d (%q): %w", i, k.ID, err)
		}
		if k.ID != "" {
			if _, dup := j.byID[k.ID]; dup {
				return nil, fmt.Errorf("auth: jwt: duplicate key id %q", k.ID)
			}
			j.byID[k.ID] = jk
		}
		alg := jk.method.Alg()
		if !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
		j.byAlg[alg] = append(j.byAlg[alg], jk.verify)
		if (cfg.SigningKey == "" && i == 0) || (cfg.SigningKey != "" && k.ID == cfg.SigningKey) {
			j.signing = jk
		}
	}
	if j.signing == nil {
		return nil, fmt.Errorf("auth: jwt: no key with the signing key id %q", cfg.SigningKey)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(j.now),
		jwt.WithStrictDecoding(),
	}
	if j.issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.issuer))
	}
	if len(j.aud) > 0 {
		opts = append(opts, jwt.WithAudience(j.aud...))
	}
	j.parser = jwt.NewParser(opts...)
	return j, nil
}

func newJWTKey(k Key) (*jwtKey, error) {
	jk := &jwtKey{id: k.ID}
	alg := k.Algorithm
	switch key := k.Key.(type) {
	case []byte:
		if len(key) < 32 {
			return nil, fmt.Errorf("HMAC secret is %d bytes, want at least 32", len(key))
		}
		jk.verify, jk.sign = slices.Clone(key), slices.Clone(key)
		alg = orDefault(alg, HS256)
	case *rsa.PrivateKey:
		jk.verify, jk.sign = &key.PublicKey, key
		alg = orDefault(alg, RS256)
	case *rsa.PublicKey:
		jk.verify = key
		alg = orDefault(alg, RS256)
	case *ecdsa.PrivateKey:
		jk.verify, jk.sign = &key.PublicKey, key
		alg = orDefault(alg, ES256)
	case *ecdsa.PublicKey:
		jk.verify = key
		alg = orDefault(alg, ES256)
	default:
		return nil, fmt.Errorf("unsupported key type %T", k.Key)
	}
	want := ""
	switch pub := jk.verify.(type) {
	case []byte:
		want = HS256
	case *rsa.PublicKey:
		want = RS256
		if pub.N == nil || pub.N.BitLen() < 2048 {
			return nil, errors.New("RSA key shorter than 2048 bits")
		}
	case *ecdsa.PublicKey:
		want = ES256
		if pub.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key not on P-256")
		}
	}
	if alg != want {
		return nil, fmt.Errorf("algorithm %q does not fit a %T key (want %s)", alg, k.Key, want)
	}
	jk.method = jwt.GetSigningMethod(alg)
	return jk, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// keyfunc picks the verification key for t: the key of its kid, which
// must have t's algorithm, or every key of t's algorithm when it has no
// kid. The parser has already refused algorithms not in the set.
func (j *JWT) keyfunc(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, present := t.Header["kid"]
	if !present {
		keys := j.byAlg[alg]
		if len(keys) == 0 {
			return nil, fmt.Errorf("no %s key", alg)
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	}
	id, ok := kid.(string)
	if !ok {
		return nil, errors.New("kid is not a string")
	}
	k, ok := j.byID[id]
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", id)
	}
	if k.method.Alg() != alg {
		return nil, fmt.Errorf("kid %q is a %s key, token says %s", id, k.method.Alg(), alg)
	}
	return k.verify, nil
}

// Authenticate verifies token's signature with the key set, then its
// claims: "exp" (required), "nbf" and "iat" with Leeway, "iss" and "aud"
// as configured, and a non-empty "sub". It does no I/O and ignores ctx.
func (j *JWT) Authenticate(_ context.Context, token string) (*Identity, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	claims := jwt.MapClaims{}
	if _, err := j.parser.ParseWithClaims(token, claims, j.keyfunc); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, fmt.Errorf("%w: %w", ErrTokenExpired, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	sub, err := claims.GetSubject()
	if err != nil || sub == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	id := &Identity{Subject: sub, Claims: claims}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		id.ExpiresAt = exp.Time
	}
	if j.maxLife > 0 {
		from := j.now()
		if iat, err := claims.GetIssuedAt(); err == nil && iat != nil {
			from = iat.Time
		}
		if id.ExpiresAt.Sub(from) > j.maxLife+j.leeway {
			return nil, fmt.Errorf("%w: lifetime %v over the maximum %v", ErrInvalidToken, id.ExpiresAt.Sub(from).Round(time.Second), j.maxLife)
		}
	}
	return id, nil
}

// Issue returns a token for id signed with the signing key: id.Claims,
// then the registered claims, which take precedence: "sub"
// (id.Subject, required), "iat" and "nbf" (now), "exp" (id.ExpiresAt if
// set, otherwise now + TTL), "jti" (random), and "iss" and "aud" if
// configured. Claim values must marshal to JSON.
func (j *JWT) Issue(id Identity) (string, error) {
	if id.Subject == "" {
		return "", errors.New("auth: jwt: issue: empty subject")
	}
	if j.signing.sign == nil {
		return "", fmt.Errorf("auth: jwt: issue: signing key %q is a public key", j.signing.id)
	}
	now := j.now()
	exp := id.ExpiresAt
	if exp.IsZero() {
		exp = now.Add(j.ttl)
	}
	if j.maxLife > 0 && exp.Sub(now) > j.maxLife {
		return "", fmt.Errorf("auth: jwt: issue: lifetime %v over MaxLifetime %v", exp.Sub(now).Round(time.Second), j.maxLife)
	}
	claims := jwt.MapClaims{}
	for k, v := range id.Claims {
		claims[k] = v
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:]) // never fails
	claims["sub"] = id.Subject
	claims["iat"] = jwt.NewNumericDate(now)
	claims["nbf"] = jwt.NewNumericDate(now)
	claims["exp"] = jwt.NewNumericDate(exp)
	claims["jti"] = base64.RawURLEncoding.EncodeToString(jti[:])
	delete(claims, "iss")
	delete(claims, "aud")
	if j.issuer != "" {
		claims["iss"] = j.issuer
	}
	switch len(j.aud) {
	case 0:
	case 1:
		claims["aud"] = j.aud[0]
	default:
		claims["aud"] = j.aud
	}
	t := jwt.NewWithClaims(j.signing.method, claims)
	if j.signing.id != "" {
		t.Header["kid"] = j.signing.id
	}
	s, err := t.SignedString(j.signing.sign)
	if err != nil {
		return "", fmt.Errorf("auth: jwt: issue: %w", err)
	}
	return s, nil
}
