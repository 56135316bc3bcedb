package transport_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/transport"
	"github.com/suzaku-go/suzaku/wire"
)

// FuzzLongPollBody feeds the POST body parser anything: it never panics,
// numbers lines in order within the batch limit, gives text frames that
// start with "[" and are valid UTF-8, and binary frames that are the
// base64 of their line.
func FuzzLongPollBody(f *testing.F) {
	f.Add([]byte("[\"3\",\"4\",\"room:lobby\",\"a\",{\"x\":1}]\n[\"3\",\"5\",\"room:lobby\",\"b\",{\"y\":2}]\nAAEBCgMzNnJvb206bG9iYnliaW4BAg=="), true)
	f.Add([]byte("[null,\"1\",\"phoenix\",\"heartbeat\",{}]\r\n\r\n\n"), true)
	f.Add([]byte("!!!\n[\xff]"), true)
	f.Add([]byte("{\"topic\":\"t\",\"event\":\"e\",\"payload\":{},\"ref\":null}"), false)
	f.Add(bytes.Repeat([]byte("[]\n"), 150), true)
	const maxBatch = 100
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		last := 0
		err := transport.SplitLongPollBody(body, ndjson, maxBatch, func(line int, fr wire.Frame) error {
			if line <= last || line > maxBatch {
				t.Fatalf("line %d after line %d (batch %d)", line, last, maxBatch)
			}
			last = line
			switch fr.Opcode {
			case wire.OpText:
				if !utf8.Valid(fr.Data) || (ndjson && (len(fr.Data) == 0 || fr.Data[0] != '[')) {
					t.Fatalf("line %d: bad text frame %q", line, fr.Data)
				}
			case wire.OpBinary:
				// The decoder skips "\r" (and "\n", which splits lines).
				if !ndjson || !bytes.Contains(bytes.ReplaceAll(body, []byte("\r"), nil), []byte(base64.StdEncoding.EncodeToString(fr.Data))) {
					t.Fatalf("line %d: binary frame %x not from its base64 line", line, fr.Data)
				}
			default:
				t.Fatalf("line %d: opcode %d", line, fr.Opcode)
			}
			for _, ser := range []wire.Serializer{wire.V2{}, wire.V1{}} {
				_, _ = ser.Decode(fr) // must not panic
			}
			return nil
		})
		if !ndjson && err == nil && last != 1 {
			t.Fatalf("a plain body gave %d frames", last)
		}
	})
}

// FuzzLongPollJSONString checks the hand-written string encoder of poll
// answers against encoding/json.
func FuzzLongPollJSONString(f *testing.F) {
	f.Add([]byte(`[null,null,"t","e",{"m":"<a&b>\n\u2028"}]`))
	f.Add([]byte("\x00\x1f\"\\\xff\xe2\x82"))
	f.Fuzz(func(t *testing.T, s []byte) {
		enc := transport.AppendLongPollString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q encodes as invalid JSON %q: %v", s, enc, err)
		}
		want, _ := json.Marshal(string(s))
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q round-trips to %q, want %q", s, got, wantS)
		}
	})
}
