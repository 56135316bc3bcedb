package wire_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/suzaku-go/suzaku/wire"
)

// A server answers a client push with a reply that carries the push's refs.
func ExampleV2_Encode_reply() {
	reply := wire.Message{
		Kind:    wire.KindReply,
		JoinRef: "3",
		Ref:     "4",
		Topic:   "room:lobby",
		Status:  wire.StatusOK,
		Payload: []byte(`{"x":1}`),
	}
	f, err := wire.V2{}.Encode(&reply)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(f.Data))
	// Output:
	// ["3","4","room:lobby","phx_reply",{"response":{"x":1},"status":"ok"}]
}

// A broadcast is encoded once and the same frame written to every
// subscriber of the topic.
func ExampleV2_Encode_broadcast() {
	m := wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "shout", Payload: []byte(`{"a":1}`)}
	text, _ := wire.V2{}.Encode(&m)
	m.Binary, m.Payload = true, []byte{1, 2, 3}
	bin, _ := wire.V2{}.Encode(&m)
	fmt.Println(string(text.Data))
	fmt.Println(hex.EncodeToString(bin.Data))
	// Output:
	// [null,null,"room:lobby","shout",{"a":1}]
	// 020a05726f6f6d3a6c6f62627973686f7574010203
}

// Decoding frames the phoenix npm client sent.
func ExampleV2_Decode() {
	m, err := wire.V2{}.Decode(wire.Frame{
		Opcode: wire.OpText,
		Data:   []byte(`["3","4","room:lobby","new_msg",{"body":"hi"}]`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("join_ref=%s ref=%s topic=%s event=%s payload=%s\n", m.JoinRef, m.Ref, m.Topic, m.Event, m.Payload)

	// The binary push of ArrayBuffer [1,2,3] captured from phoenix 1.8.16.
	data, _ := hex.DecodeString("0001010a033335726f6f6d3a6c6f62627962696e010203")
	m, err = wire.V2{}.Decode(wire.Frame{Opcode: wire.OpBinary, Data: data})
	if err != nil {
		panic(err)
	}
	fmt.Printf("join_ref=%s ref=%s topic=%s event=%s payload=%v\n", m.JoinRef, m.Ref, m.Topic, m.Event, m.Payload)

	_, err = wire.V2{}.Decode(wire.Frame{Opcode: wire.OpText, Data: []byte(`[null,6,"phoenix","heartbeat",{}]`)})
	fmt.Println(err, errors.Is(err, wire.ErrMalformed))
	// Output:
	// join_ref=3 ref=4 topic=room:lobby event=new_msg payload={"body":"hi"}
	// join_ref=3 ref=5 topic=room:lobby event=bin payload=[1 2 3]
	// wire: v2 decode: ref must be a string or null true
}

// A client reads a server's reply: DecodeServer unwraps the status and the
// response.
func ExampleV2_DecodeServer() {
	m, err := wire.V2{}.DecodeServer(wire.Frame{
		Opcode: wire.OpText,
		Data:   []byte(`[null,"6","phoenix","phx_reply",{"response":{},"status":"ok"}]`),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind, m.Ref, m.Status, string(m.Payload))
	// Output:
	// reply 6 ok {}
}

// A WebSocket endpoint picks the serializer from the vsn query parameter,
// and answers 403 when none fits.
func ExampleNegotiate() {
	for _, vsn := range []string{"2.0.0", "", "1.0.0", "2.1.0"} {
		s, err := wire.Negotiate(vsn)
		if errors.Is(err, wire.ErrUnsupportedVersion) {
			fmt.Printf("%q: 403 (%v)\n", vsn, err)
			continue
		}
		fmt.Printf("%q: %T %s\n", vsn, s, s.Version())
	}
	// Output:
	// "2.0.0": wire.V2 2.0.0
	// "": wire.V1 1.0.0
	// "1.0.0": wire.V1 1.0.0
	// "2.1.0": 403 (wire: negotiate: unsupported protocol version "2.1.0" (want ~> 1.0.0 or ~> 2.0.0))
}

// V1 servers send objects without join_ref, with their keys in this order.
func ExampleV1_Encode() {
	m := wire.Message{Kind: wire.KindReply, Ref: "1", Topic: "room:lobby", Status: wire.StatusOK, Payload: []byte(`{"joined":"room:lobby"}`)}
	f, _ := wire.V1{}.Encode(&m)
	fmt.Println(string(f.Data))
	// Output:
	// {"event":"phx_reply","payload":{"response":{"joined":"room:lobby"},"status":"ok"},"ref":"1","topic":"room:lobby"}
}
