package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Identity is who a verified token speaks for.
type Identity struct {
	// Subject identifies the user: the JWT "sub" claim, or the data of a
	// signed token (a user id). It is never empty in an Identity returned
	// by an Authenticator of this package.
	Subject string
	// Claims are the token's claims: all of a JWT's (registered ones
	// included), or the map a signed token holds, with string keys. Nil
	// when the token holds only a subject. Issue writes them into tokens.
	Claims map[string]any
	// ExpiresAt is when the token expires, or the zero time when unknown
	// (signed tokens do not expose it). Issue uses it, if set, instead of
	// the issuer's TTL.
	ExpiresAt time.Time
}

// Authenticator verifies bearer tokens. [JWT] and [Signed] implement it;
// an application may implement it to look tokens up in a database.
type Authenticator interface {
	// Authenticate verifies token and returns its identity. A rejected
	// token is an error wrapping ErrInvalidToken (ErrTokenExpired for an
	// expired one); the empty token is ErrNoToken. Other errors are
	// failures to decide, such as a database being down.
	Authenticate(ctx context.Context, token string) (*Identity, error)
}

// Issuer issues tokens that the matching Authenticator accepts, for login
// handlers. [JWT] and [Signed] implement it.
type Issuer interface {
	Issue(id Identity) (string, error)
}

// Errors of Authenticate. Test for them with errors.Is.
var (
	// ErrNoToken means the request carried no token.
	ErrNoToken = errors.New("auth: no token")
	// ErrInvalidToken means the token was rejected: malformed, badly
	// signed, for another audience or issuer, not yet valid, or expired.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrTokenExpired means the token was authentic but expired. It wraps
	// ErrInvalidToken.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
)

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id, as the middleware does;
// tests use it to call handlers directly.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity the middleware stored in ctx, and
// false for an anonymous request.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}
