package wire_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// v1ServerFrames are V1 frames a server sends (docs/protocol.md §2.2 and
// Appendix A), with the message each encodes.
var v1ServerFrames = []struct {
	name  string
	msg   wire.Message
	frame string
}{
	{
		name: "join reply",
		msg: wire.Message{Kind: wire.KindReply, Ref: "1", Topic: "room:lobby", Event: wire.EventReply,
			Status: wire.StatusOK, Payload: p(`{"joined":"room:lobby"}`)},
		frame: `{"event":"phx_reply","payload":{"response":{"joined":"room:lobby"},"status":"ok"},"ref":"1","topic":"room:lobby"}`,
	},
	{
		name:  "broadcast",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "new_msg", Payload: p(`{"body":"v1 hi"}`)},
		frame: `{"event":"new_msg","payload":{"body":"v1 hi"},"ref":null,"topic":"room:lobby"}`,
	},
	{
		name:  "string payload (§2.2)",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Payload: p(`"m"`)},
		frame: `{"event":"e","payload":"m","ref":null,"topic":"t"}`,
	},
	{
		name: "echo reply",
		msg: wire.Message{Kind: wire.KindReply, Ref: "2", Topic: "room:lobby", Event: wire.EventReply,
			Status: wire.StatusOK, Payload: p(`{"echo":"v1 hi"}`)},
		frame: `{"event":"phx_reply","payload":{"response":{"echo":"v1 hi"},"status":"ok"},"ref":"2","topic":"room:lobby"}`,
	},
	{
		name:  "close carries a ref",
		msg:   wire.Message{Kind: wire.KindPush, Ref: "1", Topic: "room:lobby", Event: wire.EventClose, Payload: p(`{}`)},
		frame: `{"event":"phx_close","payload":{},"ref":"1","topic":"room:lobby"}`,
	},
	{
		name:  "escaped strings",
		msg:   wire.Message{Kind: wire.KindPush, Ref: "\"", Topic: "é\n", Event: "<&>", Payload: p(`[]`)},
		frame: `{"event":"<&>","payload":[],"ref":"\"","topic":"é\n"}`,
	},
}

func TestV1Encode(t *testing.T) {
	t.Parallel()
	for _, tc := range v1ServerFrames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V1{}.Encode(&tc.msg)
			testutil.Success(t, err)
			testutil.Equal(t, "Encode("+tc.name+")", frameString(f), tc.frame)
			testutil.Equal(t, "opcode", f.Opcode, wire.OpText)
		})
	}
}

func TestV1DecodeServer(t *testing.T) {
	t.Parallel()
	for _, tc := range v1ServerFrames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V1{}.DecodeServer(text(tc.frame))
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeServer("+tc.frame+")", got, tc.msg)
		})
	}
}

// TestV1EncodeDropsJoinRef checks V1 server frames never carry join_ref, so
// a push without a ref reads back as a broadcast.
func TestV1EncodeDropsJoinRef(t *testing.T) {
	t.Parallel()
	m := wire.Message{Kind: wire.KindPush, JoinRef: "1", Topic: "room:lobby", Event: "presence_state", Payload: p(`{}`)}
	f, err := wire.V1{}.Encode(&m)
	testutil.Success(t, err)
	testutil.Equal(t, "Encode", frameString(f), `{"event":"presence_state","payload":{},"ref":null,"topic":"room:lobby"}`)
	got, err := wire.V1{}.DecodeServer(f)
	testutil.Success(t, err)
	testutil.Equal(t, "DecodeServer(Encode(push))", got,
		wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "presence_state", Payload: p(`{}`)})
}

func TestV1Decode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  wire.Message
	}{
		{
			name:  "captured join",
			frame: `{"topic":"room:lobby","event":"phx_join","payload":{"user_id":"dave"},"ref":"1","join_ref":"1"}`,
			want:  wire.Message{JoinRef: "1", Ref: "1", Topic: "room:lobby", Event: wire.EventJoin, Payload: p(`{"user_id":"dave"}`)},
		},
		{
			name:  "no join_ref, null ref",
			frame: `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":null}`,
			want:  wire.Message{Topic: "phoenix", Event: "heartbeat", Payload: p(`{}`)},
		},
		{
			name:  "any key order, extra keys, spacing, escaped key",
			frame: ` { "x" : [1] , "payload" : { "a" : 1 } , "\u0072ef" : "7" , "event" : "e" , "topic" : "t" , "join_ref" : null } `,
			want:  wire.Message{Ref: "7", Topic: "t", Event: "e", Payload: p(`{ "a" : 1 }`)},
		},
		{
			name:  "repeated key keeps the last",
			frame: `{"topic":"a","topic":"b","event":"e","payload":null,"ref":"1"}`,
			want:  wire.Message{Ref: "1", Topic: "b", Event: "e", Payload: p(`null`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V1{}.Decode(text(tc.frame))
			testutil.Success(t, err)
			testutil.Equal(t, "Decode("+tc.frame+")", got, tc.want)
		})
	}
}

func TestV1DecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		server bool
		frame  wire.Frame
		want   string
	}{
		{name: "binary frame", frame: binary(bin(0, 0, 0, 1, 1, "t", "e")), want: "v1 has no binary frames"},
		{name: "unknown opcode", frame: wire.Frame{Opcode: 0, Data: []byte(`{}`)}, want: "unknown opcode 0"},
		{name: "not JSON", frame: text(`this is not json`), want: "frame is not valid JSON"},
		{name: "array", frame: text(`[null,"1","t","e",{}]`), want: "frame must be a JSON object"},
		{name: "missing topic", frame: text(`{"event":"e","payload":{},"ref":null}`), want: `missing key "topic"`},
		{name: "missing event", frame: text(`{"topic":"t","payload":{},"ref":null}`), want: `missing key "event"`},
		{name: "missing payload", frame: text(`{"topic":"t","event":"e","ref":null}`), want: `missing key "payload"`},
		{name: "missing ref", frame: text(`{"topic":"t","event":"e","payload":{}}`), want: `missing key "ref"`},
		{name: "number ref", frame: text(`{"topic":"t","event":"e","payload":{},"ref":1}`), want: "ref must be a string or null"},
		{name: "number join_ref", frame: text(`{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":1}`), want: "join_ref must be a string or null"},
		{name: "null topic", frame: text(`{"topic":null,"event":"e","payload":{},"ref":"1"}`), want: "topic must be a non-empty string"},
		{name: "empty event", frame: text(`{"topic":"t","event":"","payload":{},"ref":"1"}`), want: "event must be a non-empty string"},
		{name: "invalid UTF-8 topic", frame: text("{\"topic\":\"\xff\",\"event\":\"e\",\"payload\":{},\"ref\":\"1\"}"), want: "topic is not valid UTF-8"},
		{name: "server: binary frame", server: true, frame: binary(bin(2, 1, 1, "t", "e")), want: "v1 has no binary frames"},
		{name: "server: reply payload not an object", server: true,
			frame: text(`{"event":"phx_reply","payload":"x","ref":"1","topic":"t"}`), want: "reply payload must be an object"},
		{name: "server: reply without response", server: true,
			frame: text(`{"event":"phx_reply","payload":{"status":"ok"},"ref":"1","topic":"t"}`), want: `reply payload must have "response" and "status"`},
		{name: "server: missing ref", server: true, frame: text(`{"event":"e","payload":{},"topic":"t"}`), want: `missing key "ref"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			decode, op := wire.V1{}.Decode, "v1 decode"
			if tc.server {
				decode, op = wire.V1{}.DecodeServer, "v1 decode server"
			}
			_, err := decode(tc.frame)
			wantError(t, err, wire.ErrMalformed, "wire: "+op+": "+tc.want)
		})
	}
}

func TestV1EncodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client bool
		msg    *wire.Message
		want   string
	}{
		{name: "nil", msg: nil, want: "nil message"},
		{name: "binary payload", msg: &wire.Message{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Binary: true}, want: "v1 has no binary payloads"},
		{name: "client binary payload", client: true, msg: &wire.Message{Topic: "t", Event: "e", Binary: true}, want: "v1 has no binary payloads"},
		{name: "client reply", client: true, msg: &wire.Message{Kind: wire.KindReply, Topic: "t"}, want: "a client can only send pushes, not reply"},
		{name: "unknown kind", msg: &wire.Message{Kind: 200, Topic: "t", Event: "e"}, want: "unknown kind 200"},
		{name: "empty topic", msg: &wire.Message{Event: "e"}, want: "empty topic"},
		{name: "empty event", client: true, msg: &wire.Message{Topic: "t"}, want: "empty event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			encode, op := wire.V1{}.Encode, "v1 encode"
			if tc.client {
				encode, op = wire.V1{}.EncodeClient, "v1 encode client"
			}
			_, err := encode(tc.msg)
			wantError(t, err, wire.ErrUnencodable, "wire: "+op+": "+tc.want)
		})
	}
}

func TestV1EncodeClient(t *testing.T) {
	t.Parallel()
	m := wire.Message{JoinRef: "1", Ref: "1", Topic: "room:lobby", Event: wire.EventJoin, Payload: p(`{"user_id":"dave"}`)}
	f, err := wire.V1{}.EncodeClient(&m)
	testutil.Success(t, err)
	testutil.Equal(t, "EncodeClient", frameString(f),
		`{"topic":"room:lobby","event":"phx_join","payload":{"user_id":"dave"},"ref":"1","join_ref":"1"}`)
	m = wire.Message{Topic: "phoenix", Event: "heartbeat"}
	f, err = wire.V1{}.EncodeClient(&m)
	testutil.Success(t, err)
	testutil.Equal(t, "EncodeClient", frameString(f), `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":null,"join_ref":null}`)
}

func TestV1RoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range v2RoundTrips {
		if tc.msg.Binary {
			continue
		}
		t.Run("client "+tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V1{}.EncodeClient(&tc.msg)
			testutil.Success(t, err)
			got, err := wire.V1{}.Decode(f)
			testutil.Success(t, err)
			testutil.Equal(t, "Decode(EncodeClient(m))", got, tc.msg)
		})
	}
	for _, tc := range v1ServerFrames {
		t.Run("server "+tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V1{}.Encode(&tc.msg)
			testutil.Success(t, err)
			got, err := wire.V1{}.DecodeServer(f)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeServer(Encode(m))", got, tc.msg)
		})
	}
}
