package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// The tool's WebSocket client is this file and child.go: gobwas/ws does
// the handshake; frames are read straight off a small bufio.Reader, with
// no allocation for a broadcast.

// WebSocket opcodes the client handles.
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xa
)

var errMaskedFrame = errors.New("masked frame from the server")

// readHeader reads a frame header the server sent (unmasked) and returns
// the opcode and the payload length.
func readHeader(br *bufio.Reader) (op byte, n int64, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, 0, err
	}
	if h[1]&0x80 != 0 {
		return 0, 0, errMaskedFrame
	}
	op, n = h[0]&0x0f, int64(h[1]&0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, 0, err
		}
		n = int64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, 0, err
		}
		n = int64(binary.BigEndian.Uint64(ext[:]) & (1<<63 - 1))
	}
	return op, n, nil
}

// appendClientFrame appends a final, masked frame (RFC 6455 requires
// clients to mask) with opcode op.
func appendClientFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	dst = append(dst, key[:]...)
	for i, b := range payload {
		dst = append(dst, b^key[i&3])
	}
	return dst
}

// joinFrame is the V2 text of a join of topic with join_ref = ref = ref.
func joinFrame(ref int, topic string) []byte {
	r := strconv.Quote(strconv.Itoa(ref))
	t, _ := json.Marshal(topic)
	return fmt.Appendf(nil, `[%s,%s,%s,"phx_join",{}]`, r, r, t)
}

// heartbeatFrame is the V2 text of a heartbeat with ref "h<n>": the "h"
// tells its reply from a join's.
func heartbeatFrame(n int64) []byte {
	return fmt.Appendf(nil, `[null,"h%d","phoenix","heartbeat",{}]`, n)
}

// makePayload returns the JSON object a benchmark broadcast carries:
// round r, send time ts (Unix nanoseconds) and padding up to size bytes.
// The two numbers come first, and the padding's key "z" sorts last, so that
// a client finds them in the first bytes of the frame whatever the size,
// even from a server that re-encodes payloads with sorted keys.
func makePayload(r, ts int64, size int) []byte {
	b := fmt.Appendf(nil, `{"r":%d,"ts":%d`, r, ts)
	const padKey = `,"z":""}`
	if pad := size - len(b) - len(padKey); pad > 0 {
		b = append(b, `,"z":"`...)
		b = append(b, bytes.Repeat([]byte{'x'}, pad)...)
		return append(b, `"}`...)
	}
	return append(b, '}')
}

// fillPayload is the JSON object of a broadcast that only fills the slow
// clients' buffers: size bytes, no timestamp.
func fillPayload(size int) []byte {
	b := []byte(`{"fill":"`)
	b = append(b, bytes.Repeat([]byte{'f'}, max(size-len(b)-2, 0))...)
	return append(b, `"}`...)
}

var (
	keyTS    = []byte(`"ts":`)
	keyRound = []byte(`"r":`)
	keyReply = []byte(`"phx_reply"`)
	keyError = []byte(`"phx_error"`)
	keyClose = []byte(`"phx_close"`)
)

// intAfter parses the non-negative integer that follows key in p.
func intAfter(p, key []byte) (int64, bool) {
	i := bytes.Index(p, key)
	if i < 0 {
		return 0, false
	}
	p = p[i+len(key):]
	for len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	var v int64
	n := 0
	for ; n < len(p) && p[n] >= '0' && p[n] <= '9' && n < 19; n++ {
		v = v*10 + int64(p[n]-'0')
	}
	return v, n > 0
}

// frameKind tells what a text frame the server sent is, from its first
// bytes.
type frameKind int

const (
	kindOther     frameKind = iota
	kindBroadcast           // a benchmark broadcast: round and send time
	kindReply               // phx_reply
	kindError               // phx_error or phx_close
)

// classify looks at the start of a V2 frame. For a broadcast it returns
// the round and the send time.
func classify(p []byte) (k frameKind, round, ts int64) {
	if ts, ok := intAfter(p, keyTS); ok {
		round, _ := intAfter(p, keyRound)
		return kindBroadcast, round, ts
	}
	switch {
	case bytes.Contains(p, keyReply):
		return kindReply, 0, 0
	case bytes.Contains(p, keyError), bytes.Contains(p, keyClose):
		return kindError, 0, 0
	}
	return kindOther, 0, 0
}

// parseReply returns the ref and status of a whole V2 phx_reply frame.
func parseReply(frame []byte) (ref, status string, err error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(frame, &parts); err != nil {
		return "", "", err
	}
	if len(parts) < 5 {
		return "", "", fmt.Errorf("reply of %d elements", len(parts))
	}
	_ = json.Unmarshal(parts[1], &ref) // null stays ""
	var p struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(parts[4], &p); err != nil {
		return "", "", err
	}
	return ref, p.Status, nil
}
