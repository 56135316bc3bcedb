package token_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/suzaku-go/suzaku/token"
)

// fixedNow makes the examples' output deterministic.
func fixedNow() time.Time { return time.UnixMilli(1700000000000) }

func Example() {
	signer, err := token.New(token.Config{
		Secret: []byte("suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz"),
		Salt:   "user socket",
		Now:    fixedNow,
	})
	if err != nil {
		panic(err)
	}

	// Render this into the page; phoenix.js sends it back in its params.
	tok, err := signer.Sign("user:42")
	if err != nil {
		panic(err)
	}
	fmt.Println(tok)

	// In the socket's connect handler:
	userID, err := signer.VerifyString(tok)
	fmt.Println(userID, err)

	_, err = signer.Verify("")
	fmt.Println(errors.Is(err, token.ErrMissing))
	// Output:
	// SFMyNTY.g2gDbQAAAAd1c2VyOjQybgYAAGjlz4sBYgABUYA.b-pdSsoVsjIXW2sa9Uu9ffyvozryhPBCald3EaSUTn8
	// user:42 <nil>
	// true
}

// A token minted by Elixir with
//
//	Phoenix.Token.sign(secret_key_base, "user socket", %{user_id: 42, role: :admin})
//
// decodes to a map with atom keys.
func ExampleSigner_Verify_elixir() {
	signer, err := token.New(token.Config{
		Secret: []byte("suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz"),
		Salt:   "user socket",
		Now:    fixedNow,
	})
	if err != nil {
		panic(err)
	}
	data, err := signer.Verify("SFMyNTY.g2gDdAAAAAJkAARyb2xlZAAFYWRtaW5kAAd1c2VyX2lkYSpuBgAAaOXPiwFiAAFRgA.ITDdX676TyEKZ5QK-0HI2-Db3bHPfs3-KHjovHwaK0g")
	if err != nil {
		panic(err)
	}
	m := data.(map[token.Atom]any)
	fmt.Println(m["user_id"], m["role"])
	// Output: 42 admin
}

func ExampleWithMaxAge() {
	now := fixedNow()
	signer, err := token.New(token.Config{
		Secret: []byte("suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz"),
		Salt:   "user socket",
		Now:    func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	tok, err := signer.Sign(42)
	if err != nil {
		panic(err)
	}

	now = now.Add(2 * time.Hour)
	_, err = signer.VerifyInt(tok) // Config.MaxAge: one day
	fmt.Println(err)
	_, err = signer.VerifyInt(tok, token.WithMaxAge(time.Hour))
	fmt.Println(err)
	// Output:
	// <nil>
	// token: expired
}
