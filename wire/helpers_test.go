package wire_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// bin builds a binary the way Elixir writes one: <<1, 2, "ab">> is
// bin(1, 2, "ab").
func bin(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		default:
			panic("bin: bad part")
		}
	}
	return b
}

// unhex decodes hex text, ignoring spaces, as in docs/protocol.md's frames.
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func text(s string) wire.Frame   { return wire.Frame{Opcode: wire.OpText, Data: []byte(s)} }
func binary(b []byte) wire.Frame { return wire.Frame{Opcode: wire.OpBinary, Data: b} }

// wantError checks that err is a *wire.Error wrapping target whose message
// is exactly want.
func wantError(t *testing.T, err, target error, want string) {
	t.Helper()
	testutil.ErrorIs(t, err, target)
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *wire.Error", err, err)
	}
	testutil.Equal(t, "err.Error()", err.Error(), want)
}

// frameString shows a frame in failure messages: text as is, binary as hex.
func frameString(f wire.Frame) string {
	if f.Opcode == wire.OpBinary {
		return "binary " + hex.EncodeToString(f.Data)
	}
	return string(f.Data)
}
