package auth_test

import (
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/token"
)

const secretKeyBase = "suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz"

// signedAt is when the Elixir tokens of package token's tests were signed.
var signedAt = time.UnixMilli(1700000000000)

func newSigner(t *testing.T, secret string, now func() time.Time) *token.Signer {
	t.Helper()
	s, err := token.New(token.Config{Secret: []byte(secret), Salt: "user socket", Now: now})
	testutil.Success(t, err)
	return s
}

func newSigned(t *testing.T, now func() time.Time) *auth.Signed {
	t.Helper()
	s, err := auth.NewSigned(auth.SignedConfig{Signer: newSigner(t, secretKeyBase, now)})
	testutil.Success(t, err)
	return s
}

func TestAuthSignedRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   auth.Identity
		want *auth.Identity
	}{
		{name: "subject", id: auth.Identity{Subject: "42"}, want: &auth.Identity{Subject: "42"}},
		{
			name: "claims",
			id:   auth.Identity{Subject: "42", Claims: map[string]any{"role": "admin"}},
			want: &auth.Identity{Subject: "42", Claims: map[string]any{"role": "admin", "sub": "42"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSigned(t, func() time.Time { return signedAt })
			tok, err := s.Issue(tt.id)
			testutil.Success(t, err)
			got, err := s.Authenticate(t.Context(), tok)
			testutil.Success(t, err)
			testutil.Equal(t, "Authenticate()", got, tt.want)
		})
	}
}

// TestAuthSignedPhoenix reads tokens as Phoenix.Token signs them.
func TestAuthSignedPhoenix(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return signedAt }
	s := newSigned(t, now)
	signer := newSigner(t, secretKeyBase, now)
	userID, err := signer.Sign(42) // Phoenix.Token.sign(conn, "user socket", 42)
	testutil.Success(t, err)

	tests := []struct {
		name, tok string
		want      *auth.Identity
	}{
		{name: "user id", tok: userID, want: &auth.Identity{Subject: "42"}},
		{
			// Phoenix.Token.sign(secret_key_base, "user socket", %{user_id: 42, role: :admin}), by Elixir.
			name: "map with atom keys",
			tok:  "SFMyNTY.g2gDdAAAAAJkAARyb2xlZAAFYWRtaW5kAAd1c2VyX2lkYSpuBgAAaOXPiwFiAAFRgA.ITDdX676TyEKZ5QK-0HI2-Db3bHPfs3-KHjovHwaK0g",
			want: &auth.Identity{Subject: "42", Claims: map[string]any{"user_id": int64(42), "role": token.Atom("admin")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.Authenticate(t.Context(), tt.tok)
			testutil.Success(t, err)
			testutil.Equal(t, "Authenticate()", got, tt.want)
		})
	}
}

func TestAuthSignedErrors(t *testing.T) {
	t.Parallel()
	now := signedAt
	s := newSigned(t, func() time.Time { return now })
	tok, err := s.Issue(auth.Identity{Subject: "42"})
	testutil.Success(t, err)
	other, err := auth.NewSigned(auth.SignedConfig{Signer: newSigner(t, "another-secret-key-base-of-at-least-32-bytes", func() time.Time { return now })})
	testutil.Success(t, err)
	signer := newSigner(t, secretKeyBase, func() time.Time { return now })
	list, err := signer.Sign([]any{int64(1)})
	testutil.Success(t, err)
	noSub, err := signer.Sign(map[string]any{"role": "admin"})
	testutil.Success(t, err)
	empty, err := signer.Sign("")
	testutil.Success(t, err)

	_, err = s.Authenticate(t.Context(), "")
	testutil.ErrorIs(t, err, auth.ErrNoToken)
	_, err = other.Authenticate(t.Context(), tok) // signed with another secret
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)
	for _, bad := range []string{"SFMyNTY.x.y", list, noSub, empty} {
		_, err := s.Authenticate(t.Context(), bad)
		testutil.ErrorIs(t, err, auth.ErrInvalidToken)
	}

	now = now.Add(token.DefaultMaxAge + time.Second)
	_, err = s.Authenticate(t.Context(), tok)
	testutil.ErrorIs(t, err, auth.ErrTokenExpired)
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)

	_, err = s.Issue(auth.Identity{})
	testutil.Error(t, err)
	_, err = auth.NewSigned(auth.SignedConfig{})
	testutil.Error(t, err)
}
