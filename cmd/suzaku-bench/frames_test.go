package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestFramesReadHeader(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 5, 125, 126, 65535, 65536, 200000} {
		var buf bytes.Buffer
		payload := bytes.Repeat([]byte{'a'}, n)
		testutil.Success(t, ws.WriteFrame(&buf, ws.NewTextFrame(payload)))
		br := bufio.NewReader(&buf)
		op, got, err := readHeader(br)
		testutil.Success(t, err)
		testutil.Equal(t, "opcode", op, byte(wsText))
		testutil.Equal(t, "length", got, int64(n))
		testutil.Equal(t, "bytes left after the header", br.Buffered()+buf.Len(), n)
	}
	var masked bytes.Buffer
	testutil.Success(t, ws.WriteFrame(&masked, ws.MaskFrame(ws.NewTextFrame([]byte("x")))))
	_, _, err := readHeader(bufio.NewReader(&masked))
	testutil.ErrorIs(t, err, errMaskedFrame)
}

func TestFramesClientFrameIsValidMasked(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 125, 126, 70000} {
		payload := bytes.Repeat([]byte("xyz"), n)[:n]
		b := appendClientFrame(nil, wsText, payload)
		f, err := ws.ReadFrame(bytes.NewReader(b))
		testutil.Success(t, err)
		testutil.Equal(t, "masked", f.Header.Masked, true)
		testutil.Equal(t, "fin", f.Header.Fin, true)
		ws.Cipher(f.Payload, f.Header.Mask, 0)
		testutil.Equal(t, "payload", string(f.Payload), string(payload))
	}
}

func TestFramesJoinAndHeartbeat(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "joinFrame", string(joinFrame(1, "bench:x")), `["1","1","bench:x","phx_join",{}]`)
	testutil.Equal(t, "heartbeatFrame", string(heartbeatFrame(7)), `[null,"h7","phoenix","heartbeat",{}]`)
}

func TestFramesPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		size int
	}{
		{name: "tiny: no padding", size: 10},
		{name: "default", size: 100},
		{name: "large", size: 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := makePayload(12, 1767225600123456789, tt.size)
			if !json.Valid(p) {
				t.Fatalf("makePayload = %q, not JSON", p)
			}
			if tt.size >= 40 {
				testutil.Equal(t, "size", len(p), tt.size)
			}
			frame := append([]byte(`[null,null,"bench:x","bench",`), p...)
			frame = append(frame, ']')
			k, r, ts := classify(frame[:min(len(frame), clientReadBuf)])
			testutil.Equal(t, "kind", k, kindBroadcast)
			testutil.Equal(t, "round", r, int64(12))
			testutil.Equal(t, "ts", ts, int64(1767225600123456789))
		})
	}
	f := fillPayload(32 << 10)
	testutil.Equal(t, "fill size", len(f), 32<<10)
	k, _, _ := classify(f)
	testutil.Equal(t, "fill kind", k, kindOther)
}

func TestFramesPayloadSortedKeysKeepTimestampFirst(t *testing.T) {
	t.Parallel()
	// A server may decode and re-encode payloads with sorted keys.
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(makePayload(3, 42, 5000)))
	dec.UseNumber()
	testutil.Success(t, dec.Decode(&m))
	sorted, err := json.Marshal(m)
	testutil.Success(t, err)
	k, r, ts := classify(sorted[:clientReadBuf])
	testutil.Equal(t, "classify(sorted)", [3]int64{int64(k), r, ts}, [3]int64{int64(kindBroadcast), 3, 42})
}

func TestFramesClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  frameKind
	}{
		{name: "join reply", frame: `["1","1","bench:x","phx_reply",{"response":{},"status":"ok"}]`, want: kindReply},
		{name: "heartbeat reply", frame: `[null,"h1","phoenix","phx_reply",{"response":{},"status":"ok"}]`, want: kindReply},
		{name: "phx_error", frame: `["1",null,"bench:x","phx_error",{}]`, want: kindError},
		{name: "phx_close", frame: `["1",null,"bench:x","phx_close",{}]`, want: kindError},
		{name: "other push", frame: `[null,null,"bench:x","other",{"a":1}]`, want: kindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, _, _ := classify([]byte(tt.frame))
			testutil.Equal(t, "classify", k, tt.want)
		})
	}
}

func TestFramesIntAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{name: "plain", in: `{"ts":123}`, want: 123, ok: true},
		{name: "space", in: `{"ts": 9}`, want: 9, ok: true},
		{name: "missing", in: `{"t":1}`, ok: false},
		{name: "not a number", in: `{"ts":"x"}`, ok: false},
		{name: "at the end of the peek", in: `{"ts":`, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, ok := intAfter([]byte(tt.in), keyTS)
			testutil.Equal(t, "ok", ok, tt.ok)
			testutil.Equal(t, "value", v, tt.want)
		})
	}
}

func TestFramesParseReply(t *testing.T) {
	t.Parallel()
	ref, status, err := parseReply([]byte(`["2","2","bench:x-fill","phx_reply",{"response":{"reason":"x"},"status":"error"}]`))
	testutil.Success(t, err)
	testutil.Equal(t, "ref", ref, "2")
	testutil.Equal(t, "status", status, "error")
	ref, _, err = parseReply([]byte(`[null,null,"t","phx_reply",{"status":"ok"}]`))
	testutil.Success(t, err)
	testutil.Equal(t, "null ref", ref, "")
	_, _, err = parseReply([]byte(`["1","1"]`))
	testutil.Error(t, err)
	_, _, err = parseReply([]byte(strings.Repeat("[", 3)))
	testutil.Error(t, err)
}
