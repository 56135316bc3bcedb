package wire_test

import (
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

func p(s string) []byte { return []byte(s) }

// v2ServerFrames are frames a server sends, from docs/protocol.md (Phoenix's
// v2_json_serializer_test.exs, §3 and Appendix A), with the message each
// encodes. Every one must encode to exactly these bytes and decode back.
var v2ServerFrames = []struct {
	name  string
	msg   wire.Message
	frame wire.Frame
}{
	{
		name:  "fastlane broadcast",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Payload: p(`{"m":1}`)},
		frame: text(`[null,null,"t","e",{"m":1}]`),
	},
	{
		name:  "reply with no ref and null status",
		msg:   wire.Message{Kind: wire.KindReply, Topic: "t", Event: wire.EventReply, Payload: p(`{"m":1}`)},
		frame: text(`[null,null,"t","phx_reply",{"response":{"m":1},"status":null}]`),
	},
	{
		name: "join reply",
		msg: wire.Message{Kind: wire.KindReply, JoinRef: "1", Ref: "1", Topic: "room:lobby", Event: wire.EventReply,
			Status: wire.StatusOK, Payload: p(`{"joined":"room:lobby"}`)},
		frame: text(`["1","1","room:lobby","phx_reply",{"response":{"joined":"room:lobby"},"status":"ok"}]`),
	},
	{
		name: "heartbeat reply with empty response",
		msg: wire.Message{Kind: wire.KindReply, Ref: "6", Topic: wire.TopicPhoenix, Event: wire.EventReply,
			Status: wire.StatusOK, Payload: p(`{}`)},
		frame: text(`[null,"6","phoenix","phx_reply",{"response":{},"status":"ok"}]`),
	},
	{
		name: "unmatched topic",
		msg: wire.Message{Kind: wire.KindReply, Ref: "9", Topic: "nosuch:topic", Event: wire.EventReply,
			Status: wire.StatusError, Payload: p(`{"reason":"unmatched topic"}`)},
		frame: text(`[null,"9","nosuch:topic","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`),
	},
	{
		name: "presence_diff broadcast",
		msg: wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "presence_diff",
			Payload: p(`{"joins":{"alice":{"metas":[{"online_at":1795714113,"phx_ref":"GOuoeN5jkAVPqwBi"}]}},"leaves":{}}`)},
		frame: text(`[null,null,"room:lobby","presence_diff",{"joins":{"alice":{"metas":[{"online_at":1795714113,"phx_ref":"GOuoeN5jkAVPqwBi"}]}},"leaves":{}}]`),
	},
	{
		name:  "server push",
		msg:   wire.Message{Kind: wire.KindPush, JoinRef: "1", Topic: "room:lobby", Event: "pushed", Payload: p(`{"x":1}`)},
		frame: text(`["1",null,"room:lobby","pushed",{"x":1}]`),
	},
	{
		name:  "phx_close carries the join ref as ref",
		msg:   wire.Message{Kind: wire.KindPush, JoinRef: "16", Ref: "16", Topic: "room:dup", Event: wire.EventClose, Payload: p(`{}`)},
		frame: text(`["16","16","room:dup","phx_close",{}]`),
	},
	{
		name: "phx_error",
		msg: wire.Message{Kind: wire.KindPush, JoinRef: "14", Ref: "14", Topic: "room:crashy", Event: wire.EventError,
			Payload: p(`{"reason":"channel_crash"}`)},
		frame: text(`["14","14","room:crashy","phx_error",{"reason":"channel_crash"}]`),
	},
	{
		name:  "escaped topic and event",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "room:\"é\"\n", Event: "a\\b\u2028", Payload: p(`[1]`)},
		frame: text(`[null,null,"room:\"é\"\n","a\\b\u2028",[1]]`),
	},
	{
		name: "binary reply (@reply)",
		msg: wire.Message{Kind: wire.KindReply, JoinRef: "12", Ref: "123", Topic: "topic", Event: wire.EventReply,
			Status: "ok", Payload: p("efg"), Binary: true},
		frame: binary(bin(1, 2, 3, 5, 2, "12", "123", "topic", "ok", 101, 102, 103)),
	},
	{
		name:  "binary broadcast (@broadcast)",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "topic", Event: "event", Payload: p("efg"), Binary: true},
		frame: binary(bin(2, 5, 5, "topic", "event", 101, 102, 103)),
	},
	{
		name:  "binary push (@push)",
		msg:   wire.Message{Kind: wire.KindPush, JoinRef: "12", Topic: "topic", Event: "event", Payload: p("efg"), Binary: true},
		frame: binary(bin(0, 2, 5, 5, "12", "topic", "event", 101, 102, 103)),
	},
	{
		name: "binary echo reply (Appendix A)",
		msg: wire.Message{Kind: wire.KindReply, JoinRef: "1", Ref: "11", Topic: "room:lobby", Event: wire.EventReply,
			Status: "ok", Payload: unhex("deadbeef"), Binary: true},
		frame: binary(bin(1, 1, 2, 10, 2, "1", "11", "room:lobby", "ok", unhex("deadbeef"))),
	},
	{
		name:  "binary broadcast with empty payload",
		msg:   wire.Message{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Binary: true},
		frame: binary(bin(2, 1, 1, "t", "e")),
	},
}

func TestV2Encode(t *testing.T) {
	t.Parallel()
	for _, tc := range v2ServerFrames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.Encode(&tc.msg)
			testutil.Success(t, err)
			testutil.Equal(t, "Encode("+tc.name+")", frameString(got), frameString(tc.frame))
		})
	}
}

func TestV2DecodeServer(t *testing.T) {
	t.Parallel()
	for _, tc := range v2ServerFrames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.DecodeServer(tc.frame)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeServer("+frameString(tc.frame)+")", got, tc.msg)
		})
	}
}

// TestV2DecodeServerCaptured decodes server frames whose bytes differ from
// what Encode writes: other key orders, spacing, extra keys and elements.
func TestV2DecodeServerCaptured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame wire.Frame
		want  wire.Message
	}{
		{
			name:  "reply with status first (1.8.16 session capture)",
			frame: text(`["3","4","room:lobby","phx_reply",{"status":"ok","response":{"x":1}}]`),
			want: wire.Message{Kind: wire.KindReply, JoinRef: "3", Ref: "4", Topic: "room:lobby", Event: wire.EventReply,
				Status: wire.StatusOK, Payload: p(`{"x":1}`)},
		},
		{
			name:  "reply with extra keys, spacing and a repeated status",
			frame: text(` [ null , "2" , "phoenix" , "phx_reply" , { "status" : "x" , "response" : [ ] , "y" : 1 , "status" : "ok" } ] `),
			want: wire.Message{Kind: wire.KindReply, Ref: "2", Topic: "phoenix", Event: wire.EventReply,
				Status: wire.StatusOK, Payload: p(`[ ]`)},
		},
		{
			name:  "stale push from the session capture",
			frame: text(`["old","9","room:lobby","shout",{"stale":true}]`),
			want:  wire.Message{Kind: wire.KindPush, JoinRef: "old", Ref: "9", Topic: "room:lobby", Event: "shout", Payload: p(`{"stale":true}`)},
		},
		{
			name:  "push with only a ref",
			frame: text(`[null,"5","t","e",{}]`),
			want:  wire.Message{Kind: wire.KindPush, Ref: "5", Topic: "t", Event: "e", Payload: p(`{}`)},
		},
		{
			name:  "extra elements",
			frame: text(`[null,null,"room:lobby","shout",{"a":1},"more",[1]]`),
			want:  wire.Message{Kind: wire.KindBroadcast, Topic: "room:lobby", Event: "shout", Payload: p(`{"a":1}`)},
		},
		{
			name:  "binary push with no join ref stays a push",
			frame: binary(bin(0, 0, 1, 1, "t", "e", 7)),
			want:  wire.Message{Kind: wire.KindPush, Topic: "t", Event: "e", Payload: []byte{7}, Binary: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.DecodeServer(tc.frame)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeServer("+frameString(tc.frame)+")", got, tc.want)
		})
	}
}

// v2ClientFrames are frames the phoenix client sends (docs/protocol.md §2.3, §3,
// Appendix A) with the message each decodes to.
var v2ClientFrames = []struct {
	name  string
	frame wire.Frame
	msg   wire.Message
}{
	{
		name:  "join",
		frame: text(`["3","3","room:lobby","phx_join",{"user":"u1"}]`),
		msg:   wire.Message{JoinRef: "3", Ref: "3", Topic: "room:lobby", Event: wire.EventJoin, Payload: p(`{"user":"u1"}`)},
	},
	{
		name:  "push",
		frame: text(`["3","4","room:lobby","new_msg",{"body":"hi"}]`),
		msg:   wire.Message{JoinRef: "3", Ref: "4", Topic: "room:lobby", Event: "new_msg", Payload: p(`{"body":"hi"}`)},
	},
	{
		name:  "heartbeat",
		frame: text(`[null,"6","phoenix","heartbeat",{}]`),
		msg:   wire.Message{Ref: "6", Topic: wire.TopicPhoenix, Event: wire.EventHeartbeat, Payload: p(`{}`)},
	},
	{
		name:  "leave",
		frame: text(`["3","7","room:lobby","phx_leave",{}]`),
		msg:   wire.Message{JoinRef: "3", Ref: "7", Topic: "room:lobby", Event: wire.EventLeave, Payload: p(`{}`)},
	},
	{
		name:  "escaped and unicode strings",
		frame: text(`["\u0031",null,"salle:caf\u00e9\"\\","☕\n",[]]`),
		msg:   wire.Message{JoinRef: "1", Topic: "salle:café\"\\", Event: "☕\n", Payload: p(`[]`)},
	},
	{
		name:  "binary push (1.8.16 capture)",
		frame: binary(unhex("00 01 01 0a 03 33 35 726f6f6d3a6c6f626279 62696e 010203")),
		msg:   wire.Message{JoinRef: "3", Ref: "5", Topic: "room:lobby", Event: "bin", Payload: []byte{1, 2, 3}, Binary: true},
	},
	{
		name:  "binary echo push (Appendix A)",
		frame: binary(bin(0, 1, 2, 10, 11, "1", "11", "room:lobby", "binary_echo", unhex("deadbeef"))),
		msg:   wire.Message{JoinRef: "1", Ref: "11", Topic: "room:lobby", Event: "binary_echo", Payload: unhex("deadbeef"), Binary: true},
	},
	{
		name:  "binary push with null refs and no payload",
		frame: binary(bin(0, 0, 0, 1, 1, "t", "e")),
		msg:   wire.Message{Topic: "t", Event: "e", Binary: true},
	},
}

func TestV2Decode(t *testing.T) {
	t.Parallel()
	for _, tc := range v2ClientFrames {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.Decode(tc.frame)
			testutil.Success(t, err)
			testutil.Equal(t, "Decode("+frameString(tc.frame)+")", got, tc.msg)
		})
	}
}

func TestV2EncodeClient(t *testing.T) {
	t.Parallel()
	for _, tc := range v2ClientFrames {
		if tc.name == "escaped and unicode strings" {
			continue // encodes without the needless escapes
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.EncodeClient(&tc.msg)
			testutil.Success(t, err)
			testutil.Equal(t, "EncodeClient("+tc.name+")", frameString(got), frameString(tc.frame))
		})
	}
}

// TestV2DecodeLoose covers inputs Phoenix accepts that no client sends.
func TestV2DecodeLoose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string
		want  wire.Message
	}{
		{
			name:  "extra elements are ignored",
			frame: `[null,"1","t","e",{},1,[2],{"x":3}]`,
			want:  wire.Message{Ref: "1", Topic: "t", Event: "e", Payload: p(`{}`)},
		},
		{
			name:  "white space everywhere, payload kept as sent",
			frame: "\n [ \"1\" ,\tnull ,\r\"t\" , \"e\" , { \"a\" : [1, 2] } ] \n",
			want:  wire.Message{JoinRef: "1", Topic: "t", Event: "e", Payload: p(`{ "a" : [1, 2] }`)},
		},
		{name: "string payload", frame: `[null,null,"t","e","s,]"]`, want: wire.Message{Topic: "t", Event: "e", Payload: p(`"s,]"`)}},
		{name: "null payload", frame: `[null,null,"t","e",null]`, want: wire.Message{Topic: "t", Event: "e", Payload: p(`null`)}},
		{name: "number payload", frame: `[null,null,"t","e",-1.5e3]`, want: wire.Message{Topic: "t", Event: "e", Payload: p(`-1.5e3`)}},
		{name: "empty string refs", frame: `["","","t","e",true]`, want: wire.Message{Topic: "t", Event: "e", Payload: p(`true`)}},
		{
			name:  "escaped lone surrogate becomes U+FFFD",
			frame: `[null,null,"t\ud800","e",{}]`,
			want:  wire.Message{Topic: "t\uFFFD", Event: "e", Payload: p(`{}`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.V2{}.Decode(text(tc.frame))
			testutil.Success(t, err)
			testutil.Equal(t, "Decode("+tc.frame+")", got, tc.want)
		})
	}
}

func TestV2DecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame wire.Frame
		want  string
	}{
		{name: "not JSON", frame: text(`this is not json`), want: "frame is not valid JSON"},
		{name: "truncated JSON", frame: text(`[null,"1","t","e",{}`), want: "frame is not valid JSON"},
		{name: "empty text", frame: text(``), want: "frame is not valid JSON"},
		{name: "object", frame: text(`{"topic":"t"}`), want: "frame must be a JSON array"},
		{name: "string", frame: text(`"x"`), want: "frame must be a JSON array"},
		{name: "empty array", frame: text(`[]`), want: "frame must have 5 elements, got 0"},
		{name: "four elements", frame: text(`[null,"1","t","e"]`), want: "frame must have 5 elements, got 4"},
		{name: "number join_ref", frame: text(`[1,"1","t","e",{}]`), want: "join_ref must be a string or null"},
		{name: "number ref", frame: text(`[null,1,"t","e",{}]`), want: "ref must be a string or null"},
		{name: "object ref", frame: text(`[null,{},"t","e",{}]`), want: "ref must be a string or null"},
		{name: "null topic", frame: text(`[null,"1",null,"e",{}]`), want: "topic must be a non-empty string"},
		{name: "number topic", frame: text(`[null,"1",5,"e",{}]`), want: "topic must be a non-empty string"},
		{name: "empty topic", frame: text(`[null,"1","","e",{}]`), want: "topic must be a non-empty string"},
		{name: "array event", frame: text(`[null,"1","t",["e"],{}]`), want: "event must be a non-empty string"},
		{name: "empty event", frame: text(`[null,"1","t","",{}]`), want: "event must be a non-empty string"},
		{name: "invalid UTF-8 topic", frame: text("[null,\"1\",\"t\xff\",\"e\",{}]"), want: "topic is not valid UTF-8"},
		{name: "invalid UTF-8 ref", frame: text("[null,\"\xc3\",\"t\",\"e\",{}]"), want: "ref is not valid UTF-8"},
		{name: "unknown opcode", frame: wire.Frame{Opcode: 9, Data: []byte(`[]`)}, want: "unknown opcode 9"},
		{name: "empty binary", frame: binary(nil), want: "empty binary frame"},
		{name: "binary reply from a client", frame: binary(bin(1, 0, 0, 1, 1, "t", "e")), want: "binary kind 1 is not a client push"},
		{name: "binary broadcast from a client", frame: binary(bin(2, 1, 1, "t", "e")), want: "binary kind 2 is not a client push"},
		{name: "unknown binary kind", frame: binary(bin(3, 1, 1, "t", "e")), want: "unknown binary kind 3"},
		{name: "truncated header", frame: binary(bin(0, 1, 1)), want: "binary frame truncated: header needs 5 bytes, got 3"},
		{name: "lengths past the end", frame: binary(bin(0, 1, 1, 10, 255, "3", "5", "room:lobby", "bin")), want: "binary frame truncated: meta fields need 272 bytes, got 20"},
		{name: "server push layout", frame: binary(bin(0, 2, 5, 5, "12", "topic", "event")), want: "binary frame truncated: meta fields need 66 bytes, got 16"},
		{name: "invalid UTF-8 binary topic", frame: binary(bin(0, 0, 0, 2, 1, "t\xff", "e")), want: "topic is not valid UTF-8"},
		{name: "invalid UTF-8 binary join_ref", frame: binary(bin(0, 1, 0, 1, 1, "\x80", "t", "e")), want: "join_ref is not valid UTF-8"},
		{name: "empty binary topic", frame: binary(bin(0, 0, 0, 0, 1, "e")), want: "topic must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.V2{}.Decode(tc.frame)
			wantError(t, err, wire.ErrMalformed, "wire: v2 decode: "+tc.want)
		})
	}
}

func TestV2DecodeServerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame wire.Frame
		want  string
	}{
		{name: "reply payload not an object", frame: text(`[null,"1","t","phx_reply",[]]`), want: "reply payload must be an object"},
		{name: "reply without status", frame: text(`[null,"1","t","phx_reply",{"response":{}}]`), want: `reply payload must have "response" and "status"`},
		{name: "reply without response", frame: text(`[null,"1","t","phx_reply",{"status":"ok"}]`), want: `reply payload must have "response" and "status"`},
		{name: "number status", frame: text(`[null,"1","t","phx_reply",{"response":{},"status":1}]`), want: "reply status must be a string or null"},
		{name: "number ref", frame: text(`[null,1,"t","e",{}]`), want: "ref must be a string or null"},
		{name: "unknown binary kind", frame: binary(bin(7)), want: "unknown binary kind 7"},
		{name: "truncated push header", frame: binary(bin(0, 1, 1)), want: "binary frame truncated: header needs 4 bytes, got 3"},
		{name: "truncated reply header", frame: binary(bin(1, 1, 1, 1)), want: "binary frame truncated: header needs 5 bytes, got 4"},
		{name: "truncated broadcast header", frame: binary(bin(2)), want: "binary frame truncated: header needs 3 bytes, got 1"},
		{name: "truncated reply fields", frame: binary(bin(1, 2, 3, 5, 2, "12", "123", "top")), want: "binary frame truncated: meta fields need 17 bytes, got 13"},
		{name: "invalid UTF-8 status", frame: binary(bin(1, 0, 0, 1, 1, "t", "\xff")), want: "status is not valid UTF-8"},
		{name: "empty broadcast event", frame: binary(bin(2, 1, 0, "t")), want: "event must not be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.V2{}.DecodeServer(tc.frame)
			wantError(t, err, wire.ErrMalformed, "wire: v2 decode server: "+tc.want)
		})
	}
}

func TestV2EncodeErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	tests := []struct {
		name   string
		client bool
		msg    *wire.Message
		want   string
	}{
		{name: "nil", msg: nil, want: "nil message"},
		{name: "unknown kind", msg: &wire.Message{Kind: 3, Topic: "t", Event: "e"}, want: "unknown kind 3"},
		{name: "empty topic", msg: &wire.Message{Kind: wire.KindBroadcast, Event: "e"}, want: "empty topic"},
		{name: "empty event", msg: &wire.Message{Kind: wire.KindPush, Topic: "t"}, want: "empty event"},
		{name: "binary topic too long", msg: &wire.Message{Kind: wire.KindBroadcast, Topic: long, Event: "e", Binary: true},
			want: "topic is 256 bytes, more than 255"},
		{name: "binary status too long", msg: &wire.Message{Kind: wire.KindReply, Topic: "t", Status: long, Binary: true},
			want: "status is 256 bytes, more than 255"},
		{name: "binary join_ref not UTF-8", msg: &wire.Message{JoinRef: "\xff", Topic: "t", Event: "e", Binary: true},
			want: "join_ref is not valid UTF-8"},
		{name: "binary push with a ref", msg: &wire.Message{JoinRef: "1", Ref: "2", Topic: "t", Event: "e", Binary: true},
			want: "a binary push has no ref"},
		{name: "binary empty event", msg: &wire.Message{Kind: wire.KindBroadcast, Topic: "t", Binary: true}, want: "empty event"},
		{name: "client reply", client: true, msg: &wire.Message{Kind: wire.KindReply, Topic: "t"}, want: "a client can only send pushes, not reply"},
		{name: "client broadcast", client: true, msg: &wire.Message{Kind: wire.KindBroadcast, Topic: "t", Event: "e", Binary: true},
			want: "a client can only send pushes, not broadcast"},
		{name: "client binary ref too long", client: true, msg: &wire.Message{Ref: long, Topic: "t", Event: "e", Binary: true},
			want: "ref is 256 bytes, more than 255"},
		{name: "client binary empty topic", client: true, msg: &wire.Message{Event: "e", Binary: true}, want: "empty topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			encode, op := wire.V2{}.Encode, "v2 encode"
			if tc.client {
				encode, op = wire.V2{}.EncodeClient, "v2 encode client"
			}
			f, err := encode(tc.msg)
			wantError(t, err, wire.ErrUnencodable, "wire: "+op+": "+tc.want)
			testutil.Equal(t, "frame", f, wire.Frame{})
		})
	}
}

// TestV2EncodeLongMeta checks the 255-byte limit is inclusive and applies
// only to binary frames.
func TestV2EncodeLongMeta(t *testing.T) {
	t.Parallel()
	for _, n := range []int{255, 256, 1000} {
		topic := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		m := wire.Message{Kind: wire.KindBroadcast, Topic: topic, Event: "e"}
		f, err := wire.V2{}.Encode(&m)
		testutil.Success(t, err)
		got, err := wire.V2{}.DecodeServer(f)
		testutil.Success(t, err)
		testutil.Equal(t, "topic", got.Topic, topic)
		m.Binary = true
		_, err = wire.V2{}.Encode(&m)
		if n <= 255 {
			testutil.Success(t, err)
		} else {
			testutil.ErrorIs(t, err, wire.ErrUnencodable)
		}
	}
}

// v2RoundTrips are messages both directions must carry unchanged.
var v2RoundTrips = []struct {
	name string
	msg  wire.Message
}{
	{name: "push", msg: wire.Message{JoinRef: "1", Ref: "2", Topic: "room:lobby", Event: "new_msg", Payload: p(`{"body":"hi"}`)}},
	{name: "push with null refs", msg: wire.Message{Topic: "t", Event: "e", Payload: p(`[1,"2",{"3":null}]`)}},
	{name: "push with only a join_ref", msg: wire.Message{JoinRef: "9", Topic: "t", Event: "e", Payload: p(`{}`)}},
	{name: "unicode and control characters", msg: wire.Message{JoinRef: "ü", Ref: "\x00\x1f", Topic: "salle:\"é\"\u2028", Event: "☕\t\\", Payload: p(`"x"`)}},
	{name: "binary push", msg: wire.Message{JoinRef: "3", Ref: "5", Topic: "room:lobby", Event: "bin", Payload: []byte{0, 1, 2, 255}, Binary: true}},
	{name: "binary push with empty payload", msg: wire.Message{Topic: "t", Event: "e", Binary: true}},
	{name: "binary push with 255-byte fields", msg: wire.Message{JoinRef: strings.Repeat("j", 255), Ref: strings.Repeat("r", 255),
		Topic: strings.Repeat("t", 255), Event: strings.Repeat("e", 255), Payload: p("x"), Binary: true}},
}

func TestV2RoundTripClient(t *testing.T) {
	t.Parallel()
	for _, tc := range v2RoundTrips {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V2{}.EncodeClient(&tc.msg)
			testutil.Success(t, err)
			got, err := wire.V2{}.Decode(f)
			testutil.Success(t, err)
			testutil.Equal(t, "Decode(EncodeClient(m))", got, tc.msg)
		})
	}
}

func TestV2RoundTripServer(t *testing.T) {
	t.Parallel()
	msgs := []wire.Message{}
	for _, tc := range v2ServerFrames {
		msgs = append(msgs, tc.msg)
	}
	msgs = append(msgs,
		wire.Message{Kind: wire.KindReply, JoinRef: "a", Ref: "b", Topic: "t\n", Event: wire.EventReply, Status: "custom \"status\"", Payload: p(`null`)},
		wire.Message{Kind: wire.KindReply, Ref: "1", Topic: "t", Event: wire.EventReply, Status: "", Payload: p("\x00\xff"), Binary: true},
		wire.Message{Kind: wire.KindPush, JoinRef: "ü", Ref: "r", Topic: "☕", Event: "e", Payload: p(`[]`)},
		wire.Message{Kind: wire.KindPush, Topic: "t", Event: "e", Payload: p(`1`), Binary: true},
		wire.Message{Kind: wire.KindBroadcast, Topic: strings.Repeat("t", 255), Event: strings.Repeat("e", 255), Payload: p(`{}`), Binary: true},
	)
	for _, m := range msgs {
		t.Run(m.Kind.String()+" "+m.Event, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V2{}.Encode(&m)
			testutil.Success(t, err)
			got, err := wire.V2{}.DecodeServer(f)
			testutil.Success(t, err)
			testutil.Equal(t, "DecodeServer(Encode(m))", got, m)
		})
	}
}

// TestV2EncodeNormalizes covers fields Encode drops or rewrites.
func TestV2EncodeNormalizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  wire.Message
		want string
	}{
		{
			name: "broadcast join_ref is null",
			msg:  wire.Message{Kind: wire.KindBroadcast, JoinRef: "1", Topic: "t", Event: "e", Payload: p(`{}`)},
			want: `[null,null,"t","e",{}]`,
		},
		{
			name: "broadcast keeps a stream offset as ref",
			msg:  wire.Message{Kind: wire.KindBroadcast, JoinRef: "1", Ref: "2", Topic: "t", Event: "e", Payload: p(`{}`)},
			want: `[null,"2","t","e",{}]`,
		},
		{
			name: "reply event is phx_reply",
			msg:  wire.Message{Kind: wire.KindReply, Ref: "2", Topic: "t", Event: "other", Status: "ok"},
			want: `[null,"2","t","phx_reply",{"response":{},"status":"ok"}]`,
		},
		{
			name: "empty payload is an object",
			msg:  wire.Message{Kind: wire.KindPush, JoinRef: "1", Topic: "t", Event: "e", Payload: []byte{}},
			want: `["1",null,"t","e",{}]`,
		},
		{
			name: "invalid UTF-8 becomes U+FFFD",
			msg:  wire.Message{Kind: wire.KindBroadcast, Topic: "t\xff", Event: "e"},
			want: `[null,null,"t\ufffd","e",{}]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.V2{}.Encode(&tc.msg)
			testutil.Success(t, err)
			testutil.Equal(t, "Encode("+tc.name+")", frameString(f), tc.want)
		})
	}
}

// TestV2DecodeCopies checks a decoded message does not alias the frame, so
// a transport may reuse its read buffer.
func TestV2DecodeCopies(t *testing.T) {
	t.Parallel()
	for _, f := range []wire.Frame{
		text(`["1","2","topic","event",{"a":1}]`),
		binary(bin(0, 1, 1, 5, 5, "1", "2", "topic", "event", "pay")),
	} {
		want, err := wire.V2{}.Decode(wire.Frame{Opcode: f.Opcode, Data: append([]byte(nil), f.Data...)})
		testutil.Success(t, err)
		got, err := wire.V2{}.Decode(f)
		testutil.Success(t, err)
		for i := range f.Data {
			f.Data[i] = 'X'
		}
		testutil.Equal(t, "message after overwriting the frame", got, want)
	}
}

func TestV2Version(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "V2.Version()", wire.V2{}.Version(), "2.0.0")
	testutil.Equal(t, "V1.Version()", wire.V1{}.Version(), "1.0.0")
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[wire.Kind]string{wire.KindPush: "push", wire.KindReply: "reply", wire.KindBroadcast: "broadcast", 9: "Kind(9)"} {
		testutil.Equal(t, "Kind.String()", k.String(), want)
	}
}
