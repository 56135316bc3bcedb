package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/suzaku-go/suzaku/token"
)

// SignedConfig configures [Signed]. Signer is required.
type SignedConfig struct {
	// Signer signs and verifies the tokens; its Config sets the secret,
	// salt, max age and old secrets (rotation).
	Signer *token.Signer
	// Identity turns the data of a verified token into an Identity. Nil
	// means [DefaultIdentity].
	Identity func(data any) (*Identity, error)
	// Data turns an Identity into the data Issue signs. Nil means
	// [DefaultData].
	Data func(id Identity) (any, error)
}

// Signed authenticates the project's signed tokens (package token, the
// format of Phoenix.Token), so that a token signed by a Phoenix
// application with Phoenix.Token.sign(conn, "user socket", user.id)
// authenticates against a Go server with the same secret and salt, and the
// other way round.
type Signed struct {
	signer   *token.Signer
	identity func(any) (*Identity, error)
	data     func(Identity) (any, error)
}

var (
	_ Authenticator = (*Signed)(nil)
	_ Issuer        = (*Signed)(nil)
)

// NewSigned returns a Signed for cfg.
func NewSigned(cfg SignedConfig) (*Signed, error) {
	if cfg.Signer == nil {
		return nil, errors.New("auth: signed: nil Signer")
	}
	s := &Signed{signer: cfg.Signer, identity: cfg.Identity, data: cfg.Data}
	if s.identity == nil {
		s.identity = DefaultIdentity
	}
	if s.data == nil {
		s.data = DefaultData
	}
	return s, nil
}

// Authenticate verifies token with the Signer (signature, then max age)
// and converts its data with SignedConfig.Identity. It does no I/O and
// ignores ctx.
func (s *Signed) Authenticate(_ context.Context, tok string) (*Identity, error) {
	data, err := s.signer.Verify(tok)
	switch {
	case errors.Is(err, token.ErrMissing):
		return nil, ErrNoToken
	case errors.Is(err, token.ErrExpired):
		return nil, fmt.Errorf("%w: %w", ErrTokenExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	id, err := s.identity(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if id == nil || id.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return id, nil
}

// Issue signs the data SignedConfig.Data makes of id. The token's lifetime
// is the Signer's max age; id.ExpiresAt is ignored.
func (s *Signed) Issue(id Identity) (string, error) {
	if id.Subject == "" {
		return "", errors.New("auth: signed: issue: empty subject")
	}
	data, err := s.data(id)
	if err != nil {
		return "", fmt.Errorf("auth: signed: issue: %w", err)
	}
	tok, err := s.signer.Sign(data)
	if err != nil {
		return "", fmt.Errorf("auth: signed: issue: %w", err)
	}
	return tok, nil
}

// DefaultIdentity reads the data of a signed token: a string or an integer
// is the Subject (Phoenix.Token.sign(conn, "user socket", user.id)); a map
// with string or atom keys is the Claims, and its "sub", "user_id" or "id"
// entry, a string or an integer, is the Subject. Anything else is an
// error.
func DefaultIdentity(data any) (*Identity, error) {
	if sub, ok := subject(data); ok {
		return &Identity{Subject: sub}, nil
	}
	claims := map[string]any{}
	switch m := data.(type) {
	case map[string]any:
		for k, v := range m {
			claims[k] = v
		}
	case map[token.Atom]any:
		for k, v := range m {
			claims[string(k)] = v
		}
	case map[any]any:
		for k, v := range m {
			switch k := k.(type) {
			case string:
				claims[k] = v
			case token.Atom:
				claims[string(k)] = v
			}
		}
	default:
		return nil, fmt.Errorf("token data is %T, want a subject or a map", data)
	}
	for _, k := range []string{"sub", "user_id", "id"} {
		if sub, ok := subject(claims[k]); ok {
			return &Identity{Subject: sub, Claims: claims}, nil
		}
	}
	return nil, errors.New("token data has no sub, user_id or id")
}

func subject(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case int64:
		return strconv.FormatInt(v, 10), true
	}
	return "", false
}

// DefaultData is what Signed signs by default: the Subject alone, as a
// string, when id has no Claims, and otherwise a map of the Claims with
// "sub" set to the Subject. Claim values must be of the types
// token.Signer.Sign accepts.
func DefaultData(id Identity) (any, error) {
	if len(id.Claims) == 0 {
		return id.Subject, nil
	}
	m := make(map[string]any, len(id.Claims)+1)
	for k, v := range id.Claims {
		m[k] = v
	}
	m["sub"] = id.Subject
	return m, nil
}
