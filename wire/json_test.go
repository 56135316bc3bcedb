package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// stdQuote is s as encoding/json writes it with HTML escaping off.
func stdQuote(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	testutil.Success(t, enc.Encode(s))
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var quoteCases = []struct {
	name string
	in   string
	want string
}{
	{name: "empty", in: "", want: `""`},
	{name: "ascii", in: "room:lobby", want: `"room:lobby"`},
	{name: "quote and backslash", in: `a"b\c`, want: `"a\"b\\c"`},
	{name: "short escapes", in: "\b\f\n\r\t", want: `"\b\f\n\r\t"`},
	{name: "other controls", in: "\x00\x1f\x7f", want: "\"\\u0000\\u001f\x7f\""},
	{name: "html is not escaped", in: "<a&b>", want: `"<a&b>"`},
	{name: "unicode", in: "salle:café☕", want: `"salle:café☕"`},
	{name: "line separators", in: "a\u2028b\u2029c", want: `"a\u2028b\u2029c"`},
	{name: "invalid utf-8", in: "a\xffb\xc3", want: `"a\ufffdb\ufffd"`},
	{name: "surrogate half", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`},
}

func TestJSONAppendString(t *testing.T) {
	t.Parallel()
	for _, tc := range quoteCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := string(wire.AppendString(nil, tc.in))
			testutil.Equal(t, "AppendString("+tc.name+")", got, tc.want)
			testutil.Equal(t, "encoding/json", stdQuote(t, tc.in), tc.want)
			testutil.Equal(t, "QuotedLen", wire.QuotedLen(tc.in), len(tc.want))
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, tc := range quoteCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(wire.AppendString([]byte("x"), s))
		want := "x" + stdQuote(t, s)
		if got != want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		if n := wire.QuotedLen(s); n != len(want)-1 {
			t.Fatalf("QuotedLen(%q) = %d, want %d", s, n, len(want)-1)
		}
	})
}
