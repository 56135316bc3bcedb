package transport

import (
	"reflect"
	"testing"
)

// FuzzLongPollForwardRequest: decoding never panics, and what decodes
// survives encoding and decoding again.
func FuzzLongPollForwardRequest(f *testing.F) {
	for _, q := range []lpFwdRequest{
		{kind: lpFwdPoll, id: 1, from: "a", session: "s"},
		{kind: lpFwdPost, id: 1 << 40, from: "web-1:4000", session: "abc", ndjson: true, body: []byte("[1]\n[2]")},
		{kind: lpFwdCancel, id: 7, from: "b"},
	} {
		f.Add(q.append(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{'p', 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := decodeLPFwdRequest(data)
		if err != nil {
			return
		}
		again, err := decodeLPFwdRequest(q.append(nil))
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", q, again, err)
		}
	})
}

// FuzzLongPollForwardReply: decoding never panics, and what decodes
// survives encoding and decoding again.
func FuzzLongPollForwardReply(f *testing.F) {
	for _, p := range []lpFwdReply{
		{kind: lpFwdAck, id: 1},
		{kind: lpFwdGone, id: 2},
		{kind: lpFwdMessages, id: 3, status: 200, frames: [][]byte{[]byte(`[null,null,"t","e",{}]`), {}}},
		{kind: lpFwdStatus, id: 4, status: 400, msg: "line 1: bad"},
	} {
		f.Add(p.append(nil))
	}
	f.Add([]byte{'m', 1, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeLPFwdReply(data)
		if err != nil {
			return
		}
		again, err := decodeLPFwdReply(p.append(nil))
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", p, again, err)
		}
	})
}
