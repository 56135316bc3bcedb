package token_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/token"
)

// erlangTokens were minted by Erlang/OTP 25 running testdata/vectors.escript,
// which follows Plug.Crypto.sign/4 with the secret, oldSecret and salt of
// token_test.go and signed-at t0. data is what Verify must return; sameSign
// marks the tokens whose terms OTP encodes exactly as Sign does (no Latin-1
// atoms, no compression), so Sign(data) must reproduce them byte for byte.
var erlangTokens = map[string]struct {
	token    string
	data     any
	sameSign []token.Option // nil: Sign's output differs from OTP's
}{
	"string":          {"SFMyNTY.g2gDbQAAAAd1c2VyOjQybgYAAGjlz4sBYgABUYA.b-pdSsoVsjIXW2sa9Uu9ffyvozryhPBCald3EaSUTn8", "user:42", []token.Option{}},
	"integer":         {"SFMyNTY.g2gDYSpuBgAAaOXPiwFiAAFRgA.MipkqOT_eB__m2KwSFwgZgBib-S1I1F9cI1jBTpZnIU", int64(42), []token.Option{}},
	"atom_keys_otp25": {"SFMyNTY.g2gDdAAAAAJkAARyb2xlZAAFYWRtaW5kAAd1c2VyX2lkYSpuBgAAaOXPiwFiAAFRgA.ITDdX676TyEKZ5QK-0HI2-Db3bHPfs3-KHjovHwaK0g", map[token.Atom]any{"user_id": int64(42), "role": token.Atom("admin")}, nil},
	"atom_keys_utf8":  {"SFMyNTY.g2gDdAAAAAJ3BWpvc8OpdwR0cnVldwd1c2VyX2lkYSpuBgAAaOXPiwFiAAFRgA.4B695_GFQ3ngbAYBGZwsnYwhPDfnjguUKE7P27IRZzE", map[token.Atom]any{"user_id": int64(42), "josé": true}, []token.Option{}},
	"binary_keys":     {"SFMyNTY.g2gDdAAAAAJtAAAABG5hbWVtAAAABUpvc8OpbQAAAAd1c2VyX2lkYSpuBgAAaOXPiwFiAAFRgA.g9-kjI_wnjCMJNDJary_8YbVM_LT9bjCeejr9DdI3aU", map[string]any{"user_id": int64(42), "name": "José"}, []token.Option{}},
	"mixed_keys":      {"SFMyNTY.g2gDdAAAAANhAWQAAWFkAAFhYQFtAAAAAXhkAANuaWxuBgAAaOXPiwFiAAFRgA.v2SfiwRAA3raABjSFBFSFs9Er8P0GuF0tHMQmphIPgQ", map[any]any{int64(1): token.Atom("a"), token.Atom("a"): int64(1), "x": nil}, nil},
	"charlist":        {"SFMyNTY.g2gDawADAQIDbgYAAGjlz4sBYgABUYA.ZGDY5zQspEFQBndKNCclSu1SEqT3NnWSFTH6dVm9P3o", []any{int64(1), int64(2), int64(3)}, []token.Option{}},
	"list":            {"SFMyNTY.g2gDbAAAAAhtAAAAAWFiAAABLGL_____ZAADbmlsZAAEdHJ1ZWQABWZhbHNlRj_4AAAAAAAAampuBgAAaOXPiwFiAAFRgA.ItdHPdx8nVMTKIX_3stzRNPOhZEh-V2N3c3yOKnjFFM", []any{"a", int64(300), int64(-1), nil, true, false, 1.5, []any{}}, nil},
	"tuple":           {"SFMyNTY.g2gDaAJkAAR1c2VyYSpuBgAAaOXPiwFiAAFRgA.g94jKknOJdiqRE5rJNPj4TW6FxUM_5IqvXWwMdqee14", token.Tuple{token.Atom("user"), int64(42)}, nil},
	"bignums":         {"SFMyNTY.g2gDbAAAAANuCAAAAAAAAAAAQG4IAQAAAAAAAACAbggA_________39qbgYAAGjlz4sBYgABUYA.wZpG-x02iEcDMQpaaHmwriMNhIPpk4DpEhRgoYnraho", []any{int64(1 << 62), int64(math.MinInt64), int64(math.MaxInt64)}, []token.Option{}},
	"infinity":        {"SFMyNTY.g2gDbQAAAAF4bgYAAGjlz4sBZAAIaW5maW5pdHk.JJQBAGMmW1dRktBCsRLWDNxw329FMkoMWT0lkcJWY7s", "x", nil},
	"max_age_3600":    {"SFMyNTY.g2gDbQAAAAF4bgYAAGjlz4sBYgAADhA.wXTq7p_36CPboHwP7Kg8BpcBZOvI_RXoxCthmULfp9U", "x", []token.Option{token.WithMaxAge(time.Hour)}},
	"max_age_float":   {"SFMyNTY.g2gDbQAAAAF4bgYAAGjlz4sBRj_4AAAAAAAA.-F79ILBpFULasoO2A3Bsr2qn6SRkCaoHzbdkYVdmc5Q", "x", nil},
	"compressed":      {"SFMyNTY.g1AAAAFBeJzLYM5lYGDUSUxKHkVEojw2BoaMp-e7GZMYGAMbADXOeC4.Ad7_h9UrW-2N-TEhMCgJFs1-RrVO3ZaTK8xAKiQrT-A", strings.Repeat("abc", 100), nil},
	"legacy_tuple2":   {"SFMyNTY.g2gCbQAAAAF4bgYAAGjlz4sB.u75Vhq1JyNs3ssVn7vvzC4QDlPqJ2tSzX5ZacATu8Ag", "x", nil},
	"legacy_map":      {"SFMyNTY.g3QAAAACZAAEZGF0YW0AAAABeGQABnNpZ25lZG4GAABo5c-LAQ.vOnRXaDjBz0x1Gm5ESN0_SBRffRPn8Z_87dbQMNyb0k", "x", nil},
	"sha512":          {"SFM1MTI.g2gDbQAAAAd1c2VyOjQybgYAAGjlz4sBYgABUYA.-MNyUJLTMlbCRwBKAjpguUt2VXiMJdOIKkUdGggHF8AhwZxwPcz1VGJVF4uJP4an3EyCZMNFr5xdliZOaF5y6Q", "user:42", nil},
	"old_secret":      {"SFMyNTY.g2gDbQAAAAd1c2VyOjQybgYAAGjlz4sBYgABUYA.WA1dkWc3fezwx2dQjnturiPpffgmRgBVelQBUSIneGs", "user:42", nil},
}

func TestTokenErlangInterop(t *testing.T) {
	t.Parallel()
	s, _ := newSigner(t, func(cfg *token.Config) { cfg.OldSecrets = [][]byte{[]byte(oldSecret)} })
	for name, tt := range erlangTokens {
		t.Run(name, func(t *testing.T) {
			got, err := s.Verify(tt.token)
			testutil.Success(t, err)
			testutil.Equal(t, "Verify(erlang token)", got, tt.data)
			if tt.sameSign == nil {
				return
			}
			tok, err := s.Sign(tt.data, tt.sameSign...)
			testutil.Success(t, err)
			testutil.Equal(t, "Sign(data)", tok, tt.token)
		})
	}
}

// TestTokenErlangStoredMaxAge checks WithTokenMaxAge against the max ages
// Erlang wrote: integer, float, infinity, and the legacy formats' implied
// 86400 s.
func TestTokenErlangStoredMaxAge(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for _, tt := range []struct {
		name  string
		age   time.Duration // time since signing at verification
		valid bool
	}{
		{"max_age_3600", time.Hour, true},
		{"max_age_3600", time.Hour + time.Millisecond, false},
		{"max_age_float", 1500 * time.Millisecond, true},
		{"max_age_float", 1501 * time.Millisecond, false},
		{"infinity", 1000 * 365 * day, true},
		{"infinity", -time.Hour, true}, // even signed in the future
		{"string", day, true},
		{"string", day + time.Millisecond, false},
		{"legacy_tuple2", day, true},
		{"legacy_tuple2", day + time.Millisecond, false},
		{"legacy_map", day, true},
		{"legacy_map", day + time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSigner(t, nil)
			c.t = t0.Add(tt.age)
			_, err := s.Verify(erlangTokens[tt.name].token, token.WithTokenMaxAge())
			if tt.valid {
				testutil.Success(t, err)
				return
			}
			testutil.ErrorIs(t, err, token.ErrExpired)
		})
	}
}

// erlangTerms are term_to_binary(term, [{minor_version, 2}]) from Erlang/OTP
// 25 (testdata/vectors.escript), the encoding OTP 26+ uses by default.
var erlangTerms = []struct {
	name string
	hex  string
	term any
}{
	{"binary", "836d00000007757365723a3432", "user:42"},
	{"empty_binary", "836d00000000", ""},
	{"int_0", "836100", int64(0)},
	{"int_255", "8361ff", int64(255)},
	{"int_256", "836200000100", int64(256)},
	{"int_-1", "8362ffffffff", int64(-1)},
	{"int_max32", "83627fffffff", int64(math.MaxInt32)},
	{"int_min32", "836280000000", int64(math.MinInt32)},
	{"int_max32+1", "836e040000000080", int64(math.MaxInt32 + 1)},
	{"int_min32-1", "836e040101000080", int64(math.MinInt32 - 1)},
	{"int_ms", "836e06000068e5cf8b01", int64(1700000000000)},
	{"int_max64", "836e0800ffffffffffffff7f", int64(math.MaxInt64)},
	{"int_min64", "836e08010000000000000080", int64(math.MinInt64)},
	{"float", "83463ff8000000000000", 1.5},
	{"float_neg", "8346bfb999999999999a", -0.1},
	{"atom", "83770561646d696e", token.Atom("admin")},
	{"nil", "8377036e696c", nil},
	{"true", "83770474727565", true},
	{"false", "83770566616c7365", false},
	{"atom_utf8", "8377056a6f73c3a9", token.Atom("josé")},
	{"empty_list", "836a", []any{}},
	{"charlist", "836b00030102ff", []any{int64(1), int64(2), int64(255)}},
	{"list", "836c000000036d000000016162000001006b0001016a", []any{"a", int64(256), []any{int64(1)}}},
	{"tuple", "836802770475736572612a", token.Tuple{token.Atom("user"), int64(42)}},
	{"empty_tuple", "836800", token.Tuple{}},
	{"map_binary_keys", "8374000000036d00000001616a6d000000016261016d00000001637400000000", map[string]any{"a": []any{}, "b": int64(1), "c": map[string]any{}}},
	{"map_atom_keys", "8374000000027704726f6c65770561646d696e7707757365725f6964612a", map[token.Atom]any{"role": token.Atom("admin"), "user_id": int64(42)}},
	{"map_mixed_keys", "837400000003610177016177016161016d000000017877036e696c", map[any]any{int64(1): token.Atom("a"), token.Atom("a"): int64(1), "x": nil}},
	{"envelope", "8368036d00000007757365723a34326e06000068e5cf8b016200015180", token.Tuple{"user:42", int64(1700000000000), int64(86400)}},
}

func TestETFErlangVectors(t *testing.T) {
	t.Parallel()
	for _, tt := range erlangTerms {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			testutil.Success(t, err)
			got, err := token.DecodeTerm(b)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeTerm", got, tt.term)
			enc, err := token.EncodeTerm(tt.term)
			testutil.Success(t, err)
			testutil.Equal(t, "EncodeTerm", hex.EncodeToString(enc), tt.hex)
		})
	}
}

// TestETFDecodeOldEncodings covers encodings Erlang can produce that
// EncodeTerm never does.
func TestETFDecodeOldEncodings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		in   []byte
		want any
	}{
		{"ATOM_EXT latin-1", []byte{131, 100, 0, 4, 'j', 'o', 's', 0xE9}, token.Atom("josé")},
		{"SMALL_ATOM_EXT", []byte{131, 115, 3, 'n', 'i', 'l'}, nil},
		{"ATOM_UTF8_EXT", []byte{131, 118, 0, 4, 't', 'r', 'u', 'e'}, true},
		{"LARGE_TUPLE_EXT", []byte{131, 105, 0, 0, 0, 1, 97, 7}, token.Tuple{int64(7)}},
		{"LARGE_BIG_EXT", []byte{131, 111, 0, 0, 0, 2, 1, 0, 1}, int64(-256)},
		{"SMALL_BIG_EXT with zero high digits", []byte{131, 110, 10, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, int64(5)},
		{"LIST_EXT of small integers", []byte{131, 108, 0, 0, 0, 1, 97, 7, 106}, []any{int64(7)}},
		{"trailing bytes ignored", []byte{131, 97, 1, 0}, int64(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.DecodeTerm(tt.in)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeTerm", got, tt.want)
		})
	}
}

func TestETFDecodeErrors(t *testing.T) {
	t.Parallel()
	deep := bytes.Repeat([]byte{104, 1}, 101) // 101 nested 1-tuples
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"wrong version", []byte{130, 97, 1}},
		{"no term", []byte{131}},
		{"unknown tag", []byte{131, 1}},
		{"pid", []byte{131, 88, 119, 1, 'n', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"old float", append([]byte{131, 99}, make([]byte, 31)...)},
		{"NaN", []byte{131, 70, 0x7F, 0xF8, 0, 0, 0, 0, 0, 1}},
		{"Inf", []byte{131, 70, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0}},
		{"bignum beyond int64", []byte{131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"bignum below int64", []byte{131, 110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 0x80}},
		{"binary length beyond input", []byte{131, 109, 0xFF, 0xFF, 0xFF, 0xFF, 'x'}},
		{"list length beyond input", []byte{131, 108, 0xFF, 0xFF, 0xFF, 0xFF, 106}},
		{"map arity beyond input", []byte{131, 116, 0x10, 0, 0, 0, 97, 1, 97, 1}},
		{"tuple arity beyond input", []byte{131, 105, 0xFF, 0xFF, 0xFF, 0xFF}},
		{"improper list", []byte{131, 108, 0, 0, 0, 1, 97, 1, 97, 2}},
		{"missing list tail", []byte{131, 108, 0, 0, 0, 1, 97, 1}},
		{"invalid UTF-8 atom", []byte{131, 119, 1, 0xFF}},
		{"atom of 256 characters", append([]byte{131, 118, 1, 0}, bytes.Repeat([]byte{'a'}, 256)...)},
		{"duplicate map keys", []byte{131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2}},
		{"zero and minus zero keys", []byte{131, 116, 0, 0, 0, 2, 70, 0, 0, 0, 0, 0, 0, 0, 0, 97, 1, 70, 0x80, 0, 0, 0, 0, 0, 0, 0, 97, 1}},
		{"list as map key", []byte{131, 116, 0, 0, 0, 1, 106, 97, 1}},
		{"too deep", append(append([]byte{131}, deep...), 106)},
		{"compressed, short", []byte{131, 80, 0, 0}},
		{"compressed, bad zlib", []byte{131, 80, 0, 0, 0, 1, 1, 2, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := token.DecodeTerm(tt.in)
			testutil.Error(t, err)
		})
	}
}

// TestTokenErlangVerifiesGoTokens is the other direction: Erlang checks
// tokens that Sign made, the way Plug.Crypto.verify/4 does, and prints the
// terms it finds. It needs escript (Erlang/OTP) and is skipped without it.
func TestTokenErlangVerifiesGoTokens(t *testing.T) {
	t.Parallel()
	escript, err := exec.LookPath("escript")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("escript not installed: CI must check tokens against Erlang")
		}
		t.Skip("escript not installed")
	}
	s, _ := newSigner(t, nil)
	cases := []struct {
		data any
		opts []token.Option
		want string // Erlang's ~tp of {data, signed_at, max_age}, space-separated
	}{
		{"user:42", nil, `<<"user:42">> 1700000000000 86400`},
		{42, nil, `42 1700000000000 86400`},
		{-1 << 40, []token.Option{token.WithMaxAge(time.Hour)}, `-1099511627776 1700000000000 3600`},
		{nil, []token.Option{token.WithMaxAge(token.Infinity)}, `nil 1700000000000 infinity`},
		{map[token.Atom]any{"user_id": 42, "role": token.Atom("admin"), "josé": true}, nil,
			`#{josé => true,role => admin,user_id => 42} 1700000000000 86400`},
		{map[string]any{"name": "José", "ids": []int{1, 300}}, nil,
			`#{<<"ids">> => [1,300],<<"name">> => <<"José"/utf8>>} 1700000000000 86400`},
		{map[any]any{1: "a", token.Atom("b"): 2.5, "c": false}, nil,
			`#{1 => <<"a">>,b => 2.5,<<"c">> => false} 1700000000000 86400`},
		{[]any{"a", []byte{0, 1}, []int64{104, 105}, token.Tuple{token.Atom("user"), 1}, []any{}}, nil,
			`[<<"a">>,<<0,1>>,"hi",{user,1},[]] 1700000000000 86400`},
	}
	args := []string{"testdata/verify.escript", secret, salt}
	for _, c := range cases {
		tok, err := s.Sign(c.data, c.opts...)
		testutil.Success(t, err)
		args = append(args, tok)
	}
	// A tampered token must fail in Erlang too.
	args = append(args, args[len(args)-1]+"A")
	out, err := exec.Command(escript, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("escript: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	testutil.Equal(t, "lines", len(lines), len(cases)+1)
	for i, c := range cases {
		testutil.Equal(t, fmt.Sprintf("Erlang verify(Sign(%#v))", c.data), lines[i], c.want)
	}
	testutil.Equal(t, "Erlang verify(tampered)", lines[len(cases)], "error")
}
