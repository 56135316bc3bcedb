package token_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/token"
)

// FuzzVerify checks that Verify never panics and only returns the package's
// errors, both on arbitrary token strings (which cannot get past the MAC)
// and on arbitrary payloads signed with the right key (which reach the term
// decoder and the age checks).
func FuzzVerify(f *testing.F) {
	for _, tt := range erlangTokens {
		_, rest, _ := strings.Cut(tt.token, ".")
		payload, _, _ := strings.Cut(rest, ".")
		p, _ := base64.RawURLEncoding.DecodeString(payload)
		f.Add(tt.token, p)
	}
	f.Add("", []byte{})
	f.Add("SFMyNTY..", []byte{131})
	s, _ := newSigner(f, nil)
	key, err := token.DeriveKey([]byte(secret), salt)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string, payload []byte) {
		for _, tok := range []string{tok, mintWithKey(key, payload)} {
			for _, opts := range [][]token.Option{nil, {token.WithTokenMaxAge()}} {
				_, err := s.Verify(tok, opts...)
				if err != nil && !errors.Is(err, token.ErrInvalid) && !errors.Is(err, token.ErrExpired) && !errors.Is(err, token.ErrMissing) {
					t.Fatalf("Verify(%q) = %v, want a token error", tok, err)
				}
			}
		}
	})
}

// FuzzETFDecode checks that the term decoder never panics, and that every
// term it accepts encodes again, decodes to the same Go value, and encodes
// to the same bytes (a fixed point).
func FuzzETFDecode(f *testing.F) {
	for _, tt := range erlangTerms {
		b, _ := hex.DecodeString(tt.hex)
		f.Add(b)
	}
	for _, tt := range erlangTokens {
		_, rest, _ := strings.Cut(tt.token, ".")
		payload, _, _ := strings.Cut(rest, ".")
		b, _ := base64.RawURLEncoding.DecodeString(payload)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := token.DecodeTerm(b)
		if err != nil {
			return
		}
		enc, err := token.EncodeTerm(v)
		if err != nil {
			t.Fatalf("EncodeTerm(DecodeTerm(%x)) = %v", b, err)
		}
		v2, err := token.DecodeTerm(enc)
		if err != nil {
			t.Fatalf("DecodeTerm(%x) = %v, re-encoded from %x", enc, err, b)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("DecodeTerm(EncodeTerm(v)) = %#v, want %#v", v2, v)
		}
		enc2, err := token.EncodeTerm(v2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("EncodeTerm is not a fixed point: %x, then %x (%v)", enc, enc2, err)
		}
	})
}
