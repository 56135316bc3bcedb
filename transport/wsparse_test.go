package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gobwas/ws"
)

// maskedFrame encodes one client frame, masked as a client must.
func maskedFrame(fin bool, op ws.OpCode, payload []byte) []byte {
	var buf bytes.Buffer
	h := ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: [4]byte{0x11, 0x22, 0x33, 0x44}, Length: int64(len(payload))}
	if err := ws.WriteHeader(&buf, h); err != nil {
		panic(err)
	}
	p := append([]byte(nil), payload...)
	ws.Cipher(p, h.Mask, 0)
	buf.Write(p)
	return buf.Bytes()
}

type parsed struct {
	op      ws.OpCode
	payload string
}

// parseAll feeds stream to a fresh parser in the given pieces.
func parseAll(pieces [][]byte, max int64) ([]parsed, error) {
	var fp frameParser
	var out []parsed
	for _, p := range pieces {
		// The caller reuses its read buffer: give feed a copy it may not keep.
		buf := append([]byte(nil), p...)
		err := fp.feed(buf, max, func(op ws.OpCode, payload []byte) error {
			out = append(out, parsed{op, string(payload)})
			return nil
		})
		for i := range buf {
			buf[i] = 0xEE // a payload that aliases buf would change
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// split cuts b at offsets drawn from seed.
func split(b []byte, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed>>7))
	var out [][]byte
	for len(b) > 0 {
		n := 1 + r.IntN(len(b))
		if r.IntN(3) == 0 {
			n = 1 + r.IntN(min(len(b), 4))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// referenceParse decodes stream with gobwas/ws's own frame reader (an
// implementation independent of parseHeader and feed): it returns the
// messages and control frames in order, stopping at the first frame it
// cannot read whole.
func referenceParse(stream []byte) []parsed {
	r := bytes.NewReader(stream)
	var out []parsed
	var msg []byte
	var op ws.OpCode
	for {
		f, err := ws.ReadFrame(r)
		if err != nil {
			return out
		}
		if f.Header.Masked {
			ws.Cipher(f.Payload, f.Header.Mask, 0)
		}
		switch {
		case f.Header.OpCode.IsControl():
			out = append(out, parsed{f.Header.OpCode, string(f.Payload)})
			continue
		case f.Header.OpCode == ws.OpContinuation:
			msg = append(msg, f.Payload...)
		default:
			op, msg = f.Header.OpCode, append([]byte(nil), f.Payload...)
		}
		if f.Header.Fin {
			out = append(out, parsed{op, string(msg)})
			msg = nil
		}
	}
}

func equalParsed(a, b []parsed) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParser feeds the parser a byte stream split at random points: it
// decodes the same messages, and fails the same way, whatever the split,
// and what it accepts is what an independent frame reader reads.
func FuzzParser(f *testing.F) {
	var seed []byte
	seed = append(seed, maskedFrame(true, ws.OpText, []byte(`[null,"1","phoenix","heartbeat",{}]`))...)
	seed = append(seed, maskedFrame(false, ws.OpBinary, bytes.Repeat([]byte{7}, 300))...)
	seed = append(seed, maskedFrame(true, ws.OpPing, []byte("ping"))...)
	seed = append(seed, maskedFrame(true, ws.OpContinuation, bytes.Repeat([]byte{8}, 70000))...)
	f.Add(seed, uint64(1))
	f.Add(maskedFrame(true, ws.OpText, []byte("héllo")), uint64(2))
	f.Add(maskedFrame(true, ws.OpText, []byte{0xff}), uint64(3))
	f.Add(maskedFrame(true, ws.OpClose, []byte{3, 232}), uint64(4))
	f.Add([]byte{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0}, uint64(5))
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		const max = 1 << 17
		whole, werr := parseAll([][]byte{stream}, max)
		pieces, perr := parseAll(split(stream, seed), max)
		if !equalParsed(whole, pieces) {
			t.Fatalf("split at random: %d messages, want %d (%v / %v)", len(pieces), len(whole), perr, werr)
		}
		if (werr == nil) != (perr == nil) {
			t.Fatalf("split at random: error %v, want %v", perr, werr)
		}
		var wce, pce *closeError
		if werr != nil && (!errors.As(werr, &wce) || !errors.As(perr, &pce) || wce.code != pce.code) {
			t.Fatalf("split at random: error %v, want %v", perr, werr)
		}
		ref := referenceParse(stream)
		if len(whole) > len(ref) || !equalParsed(whole, ref[:len(whole)]) {
			t.Fatalf("parse = %d messages, want a prefix of the reference's %d", len(whole), len(ref))
		}
		if werr == nil && len(ref) != len(whole) {
			t.Fatalf("parse = %d messages without error, reference read %d", len(whole), len(ref))
		}
	})
}

// TestParserBound: the memory an incomplete frame holds follows what
// arrived, not what its header announces.
func TestParserBound(t *testing.T) {
	t.Parallel()
	var fp frameParser
	hdr := []byte{0x82, 0xff}
	hdr = binary.BigEndian.AppendUint64(hdr, 1<<20)
	hdr = append(hdr, 1, 2, 3, 4)
	noop := func(ws.OpCode, []byte) error { return nil }
	if err := fp.feed(append(hdr, make([]byte, 100)...), 1<<20, noop); err != nil {
		t.Fatal(err)
	}
	if got := cap(fp.st.partial); got > 4<<10 {
		t.Fatalf("after 114 bytes of a 1 MiB frame the parser holds %d bytes, want at most 4 KiB", got)
	}
	for range 100 {
		if err := fp.feed(make([]byte, 1024), 1<<20, noop); err != nil {
			t.Fatal(err)
		}
	}
	if got, arrived := cap(fp.st.partial), 114+100*1024; got > 2*arrived {
		t.Fatalf("after %d bytes the parser holds %d bytes, want at most twice that", arrived, got)
	}
}

// TestParserSplitEveryByte: a frame fed one byte at a time decodes.
func TestParserSplitEveryByte(t *testing.T) {
	t.Parallel()
	msg := bytes.Repeat([]byte("abc"), 50000)
	stream := append(maskedFrame(false, ws.OpText, msg[:70000]), maskedFrame(true, ws.OpContinuation, msg[70000:])...)
	var pieces [][]byte
	for i := range stream {
		pieces = append(pieces, stream[i:i+1])
	}
	got, err := parseAll(pieces, 1<<20)
	if err != nil || len(got) != 1 || got[0].payload != string(msg) {
		t.Fatalf("parse one byte at a time = %d messages, %v; want the message", len(got), err)
	}
}

// BenchmarkParser feeds a 1 MiB frame in pieces of 1 KiB and 64 KiB: with
// a linear parser the cost per byte (ns/op over MB/s) and the allocations
// hardly depend on the number of pieces.
func BenchmarkParser(b *testing.B) {
	frame := maskedFrame(true, ws.OpBinary, bytes.Repeat([]byte{1}, 1<<20))
	for _, piece := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("frame=1MiB/piece=%dKiB", piece>>10), func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			var fp frameParser
			for b.Loop() {
				for off := 0; off < len(frame); off += piece {
					err := fp.feed(frame[off:min(off+piece, len(frame))], 1<<20, func(ws.OpCode, []byte) error { return nil })
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
