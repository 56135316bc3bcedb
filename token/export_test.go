package token

// Internals reached by the external tests.
var (
	DecodeTerm = decodeTerm
	EncodeTerm = encodeTerm
	DeriveKey  = deriveKey
)
