package wire_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/wire"
)

var benchPayload = []byte(`{"body":"hello, world","user":{"id":42,"name":"alice"},"at":1795714113}`)

// BenchmarkV2EncodeBroadcast measures the fan-out hot path: a broadcast is
// encoded once per node and the frame written to every subscriber.
func BenchmarkV2EncodeBroadcast(b *testing.B) {
	m := wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "new_msg", Payload: benchPayload}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, err := (wire.V2{}).Encode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2EncodeReply(b *testing.B) {
	m := wire.Message{Kind: wire.KindReply, JoinRef: "3", Ref: "42", Topic: "room:lobby", Status: wire.StatusOK, Payload: benchPayload}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (wire.V2{}).Encode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2EncodeBinaryBroadcast(b *testing.B) {
	m := wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "new_msg", Payload: benchPayload, Binary: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (wire.V2{}).Encode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2Decode measures decoding a typical client push.
func BenchmarkV2Decode(b *testing.B) {
	f := text(`["3","42","room:lobby","new_msg",` + string(benchPayload) + `]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		if _, err := (wire.V2{}).Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2DecodeHeartbeat(b *testing.B) {
	f := text(`[null,"6","phoenix","heartbeat",{}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (wire.V2{}).Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkV2DecodeBinary(b *testing.B) {
	f := binary(bin(0, 1, 2, 10, 7, "3", "42", "room:lobby", "new_msg", benchPayload))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (wire.V2{}).Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}
