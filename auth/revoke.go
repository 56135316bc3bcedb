package auth

import (
	"context"
	"errors"
	"fmt"
)

// ErrRevoked means the token was authentic but has been revoked (its
// user logged out everywhere since it was issued). It wraps
// ErrInvalidToken, so the middleware answers 401 and a socket connect is
// refused.
var ErrRevoked = fmt.Errorf("%w: revoked", ErrInvalidToken)

// GenerationClaim is the claim [Revocable] writes into the tokens it
// issues: the user's token generation at the time.
const GenerationClaim = "gen"

// RevocableConfig configures [Revocable]. Every field is required.
type RevocableConfig struct {
	// Authenticator verifies the tokens ([Signed], [JWT]), and Issuer
	// issues them; usually the same value.
	Authenticator Authenticator
	Issuer        Issuer
	// Generation returns the current token generation of subject (0 for a
	// user who never logged out everywhere). It runs on every
	// authentication, API call and socket connect alike: serve it from a
	// cache that is invalidated on every node when it changes (a
	// cache.Memory on the cluster's broker, deleted by Revoke's caller),
	// backed by the application's store.
	Generation func(ctx context.Context, subject string) (int64, error)
}

// Revocable makes tokens revocable on the server, cheaply: each user has
// a token generation, a counter the application stores; tokens carry the
// generation they were issued in, and only tokens of the current
// generation are accepted. Logging a user out everywhere is incrementing
// it (in the store, then dropping the cached value on every node): every
// token issued before stops working at once, on every API call and
// socket connect, so reconnecting tabs are refused. A token carries no
// state beyond that one number; one lookup, cached, per authentication.
//
// To revoke a single token rather than all of a user's, key the
// generation by session instead of by user (a session id in the token's
// claims), or keep a deny list of token ids until they expire.
type Revocable struct {
	auth Authenticator
	iss  Issuer
	gen  func(context.Context, string) (int64, error)
}

var _ Authenticator = (*Revocable)(nil)

// NewRevocable returns a Revocable for cfg.
func NewRevocable(cfg RevocableConfig) (*Revocable, error) {
	if cfg.Authenticator == nil || cfg.Issuer == nil || cfg.Generation == nil {
		return nil, errors.New("auth: revocable: Authenticator, Issuer and Generation are required")
	}
	return &Revocable{auth: cfg.Authenticator, iss: cfg.Issuer, gen: cfg.Generation}, nil
}

// Authenticate verifies token, then that its generation is the subject's
// current one. A stale token is ErrRevoked; a failure to read the
// generation is returned as is (a 500, not a verdict on the token).
func (r *Revocable) Authenticate(ctx context.Context, token string) (*Identity, error) {
	id, err := r.auth.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	cur, err := r.gen(ctx, id.Subject)
	if err != nil {
		return nil, fmt.Errorf("auth: token generation of %q: %w", id.Subject, err)
	}
	if got, _ := generation(id.Claims[GenerationClaim]); got != cur {
		return nil, ErrRevoked
	}
	return id, nil
}

// Issue issues a token of subject's current generation.
func (r *Revocable) Issue(ctx context.Context, id Identity) (string, error) {
	cur, err := r.gen(ctx, id.Subject)
	if err != nil {
		return "", fmt.Errorf("auth: token generation of %q: %w", id.Subject, err)
	}
	claims := make(map[string]any, len(id.Claims)+1)
	for k, v := range id.Claims {
		claims[k] = v
	}
	claims[GenerationClaim] = cur
	id.Claims = claims
	return r.iss.Issue(id)
}

// generation reads the claim as signed tokens (int64) and JWTs (JSON
// numbers) carry it; absent is generation 0.
func generation(v any) (int64, bool) {
	switch v := v.(type) {
	case nil:
		return 0, true
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), float64(int64(v)) == v
	}
	return -1, false
}
