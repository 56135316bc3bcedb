// Package token signs and verifies the tokens of Phoenix.Token, so that a Go
// server and a Phoenix application can authenticate sockets for each other.
// The usual flow: the page is rendered with a token signed for the user
// ([Signer.Sign], or Phoenix.Token.sign(conn, "user socket", user.id)), the
// phoenix.js client sends it in its connect params, and the socket's connect
// handler checks it with [Signer.Verify].
//
// A token is signed, not encrypted: anyone holding it can read its data.
// Put an identifier in it, not a secret.
//
// A [Signer] is built from a [Config] by [New]. Sign and Verify take
// per-call options ([WithMaxAge], [WithTokenMaxAge]). Verify's errors wrap
// [ErrInvalid], [ErrExpired] or [ErrMissing], which are Phoenix's
// {:error, :invalid | :expired | :missing}.
//
// The package imports only the standard library.
//
// # Token format
//
// This section specifies the format precisely enough to implement it in
// another language. It is the format of Plug.Crypto.sign/4 and verify/4
// (plug_crypto 2.x), which Phoenix.Token calls with default options.
//
// Key. The HMAC key is PBKDF2 (RFC 8018) with HMAC-SHA256 as the
// pseudo-random function, 1000 iterations and a 32-byte output, over the
// secret (Phoenix's secret_key_base) as password and the salt string:
//
//	key = PBKDF2-HMAC-SHA256(password = secret, salt = salt, c = 1000, dkLen = 32)
//
// Envelope. With b64 meaning base64url without padding (RFC 4648 §5):
//
//	text  = "SFMyNTY." + b64(payload)            // "SFMyNTY" = b64("HS256")
//	token = text + "." + b64(HMAC-SHA256(key, text))
//
// The MAC covers the ASCII text of the header and the encoded payload, not
// the decoded payload. Verification splits the token at "." into exactly
// three parts, recomputes the MAC over the first two parts joined by ".",
// and compares it in constant time with the decoded third part. (This
// package also rejects a third part with non-zero padding bits, so that a
// MAC has only one spelling.) The headers "SFMzODQ" (HS384) and "SFM1MTI"
// (HS512) select HMAC-SHA384 and HMAC-SHA512 with the same key;
// Plug.Crypto's MessageVerifier accepts them although Phoenix.Token only
// produces "SFMyNTY". The payload is decoded only after the MAC matches.
//
// Payload. The payload is the Erlang External Term Format encoding
// (:erlang.term_to_binary/1) of a 3-tuple:
//
//	{data, signed_at, max_age}
//
// signed_at is the signing time in Unix milliseconds, an integer. max_age
// is in seconds: an integer (Phoenix's default is 86400), possibly a float,
// or the atom infinity. For example, {"user:42", 1700000000000, 86400}
// ("user:42" being an Elixir string, a binary) is these 29 bytes:
//
//	131                         version
//	104 3                       SMALL_TUPLE_EXT, arity 3
//	109 0 0 0 7 "user:42"       BINARY_EXT, uint32 length, bytes
//	110 6 0 0 104 229 207 139 1 SMALL_BIG_EXT, 6 digit bytes, sign 0 (+),
//	                            0x018BCFE56800 little-endian
//	98 0 1 81 128               INTEGER_EXT, int32 big-endian: 86400
//
// Integers are SMALL_INTEGER_EXT (97) for 0..255, INTEGER_EXT (98) for the
// rest of the int32 range and SMALL_BIG_EXT (110: n, sign byte 0 or 1, n
// magnitude bytes little-endian) beyond; a millisecond timestamp always
// needs SMALL_BIG_EXT. Plug.Crypto also reads two legacy payloads,
// {data, signed_at} and %{data: data, signed: signed_at}, whose max age is
// 86400 seconds; Verify reads them too.
//
// Verification. After the MAC, a token with max age M (Config.MaxAge, or
// the one in the token with [WithTokenMaxAge]) checked at time now, both in
// milliseconds, is:
//   - valid whatever signed_at is, if M is infinity;
//   - expired if M <= 0;
//   - invalid if signed_at > now;
//   - expired if signed_at + M < now (so valid at exactly signed_at + M);
//   - valid otherwise.
//
// # Data
//
// The data in a token is an Erlang term. Sign takes the Go types listed
// at [Signer.Sign]; Verify returns these Go types, which Sign writes back
// as the same terms:
//
//	Elixir term                    tags                        Go value from Verify
//	"string" (binary)              BINARY_EXT 109              string
//	integer in int64 range         97, 98, SMALL_BIG_EXT 110,  int64
//	                               LARGE_BIG_EXT 111
//	float                          NEW_FLOAT_EXT 70            float64
//	nil, true, false               atoms                       nil, true, false
//	:other_atom                    ATOM_EXT 100, SMALL_ATOM    Atom("other_atom")
//	                               115, ATOM_UTF8 118,
//	                               SMALL_ATOM_UTF8 119
//	[] and lists                   NIL_EXT 106, LIST_EXT 108   []any
//	charlist ~c"ab" / [97, 98]     STRING_EXT 107              []any{int64(97), int64(98)}
//	{a, b}                         SMALL_TUPLE_EXT 104,        Tuple
//	                               LARGE_TUPLE_EXT 105
//	%{"k" => v}                    MAP_EXT 116                 map[string]any
//	%{k: v} (atom keys)            MAP_EXT 116                 map[Atom]any
//	%{1 => v, :k => v, "k" => v}   MAP_EXT 116                 map[any]any
//
// Sign writes atoms as SMALL_ATOM_UTF8_EXT, as OTP 26 and later do, and
// reads the older Latin-1 tags. It reads compressed payloads
// (term_to_binary(term, [:compressed]), tag 80, which newer Phoenix.Token
// versions write with :compressed) up to 1 MiB. A token is [ErrInvalid],
// even with a good MAC, if its data holds pids, references, funs, ports,
// bit strings, improper lists, integers beyond int64, map keys that are not
// scalars, or more than 100 levels of nesting (a scalar is one level, a
// list of scalars two); so is the :local encoding of OTP 26, which only the
// node that wrote it can read. Sign refuses the same.
//
// # Differences from Phoenix.Token
//
// Verify enforces Config.MaxAge by default; Phoenix.Token.verify, given no
// :max_age, enforces the max age stored in the token. The two agree when
// both sides use the same max age. Pass [WithTokenMaxAge] for Phoenix's
// behaviour, or [WithMaxAge] for Phoenix's verify(…, max_age: s).
//
// The empty string is [ErrMissing], because Go has no nil string; Phoenix
// returns :missing for nil and :invalid for "".
//
// New requires a secret of at least 32 bytes; Phoenix.Token accepts 20, and
// a Phoenix endpoint's secret_key_base is 64 bytes by convention.
//
// Encryption (Phoenix.Token.encrypt/decrypt) is not implemented.
//
// # Key rotation
//
// Config.OldSecrets lists secrets that Verify still accepts after the
// current Secret fails. Sign always uses Secret. Remove an old secret once
// the tokens it signed have expired.
package token
