package wire

// AppendString and QuotedLen expose the JSON string encoder to the external
// tests, which check it against encoding/json.
var (
	AppendString = appendString
	QuotedLen    = quotedLen
)
