package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/wire"
)

// The fuzzers check three things of every decoder: it never panics; an
// error is a *wire.Error wrapping ErrMalformed; and a decoded message
// survives being encoded and decoded again. The JSON decoders are also
// checked against reference decoders built on encoding/json.

// seedFrames adds every frame of the tables, as (data, binary) pairs.
func seedFrames(f *testing.F, frames ...wire.Frame) {
	for _, fr := range frames {
		f.Add(fr.Data, fr.Opcode == wire.OpBinary)
	}
}

func fuzzFrame(data []byte, isBinary bool) wire.Frame {
	if isBinary {
		return binary(data)
	}
	return text(string(data))
}

func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var we *wire.Error
	if !errors.Is(err, wire.ErrMalformed) || !errors.As(err, &we) {
		t.Fatalf("decode error %v (%T) is not a *wire.Error wrapping ErrMalformed", err, err)
	}
}

// checkRoundTrip encodes m, decodes the frame, and wants m back.
func checkRoundTrip(t *testing.T, m wire.Message, in wire.Frame,
	encode func(*wire.Message) (wire.Frame, error), decode func(wire.Frame) (wire.Message, error)) {
	t.Helper()
	f, err := encode(&m)
	if err != nil {
		t.Fatalf("encode(%#v) of decoded %s: %v", m, frameString(in), err)
	}
	if f.Opcode != in.Opcode {
		t.Fatalf("encode(%#v) opcode = %d, want %d", m, f.Opcode, in.Opcode)
	}
	got, err := decode(f)
	if err != nil {
		t.Fatalf("decode(%s) of re-encoded %s: %v", frameString(f), frameString(in), err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("decode(encode(m)) = %#v, want %#v", got, m)
	}
}

func v2ClientSeeds(f *testing.F) {
	for _, tc := range v2ClientFrames {
		seedFrames(f, tc.frame)
	}
	for _, s := range []string{
		`[null,"1","t","e",{},1,[2],{"x":3}]`, ` [ "1" , null , "t" , "e" , { "a" : [1, 2] } ] `,
		`[null,null,"t","e","s,]"]`, `["\ud800","1","t\n","e\"",-1.5e3]`, `[1,"1","t","e",{}]`, `[null,"1","t","e"]`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add(bin(0, 1, 1, 10, 255, "3", "5", "room:lobby", "bin"), true)
	f.Add(bin(1, 0, 0, 1, 1, "t", "e"), true)
}

func v2ServerSeeds(f *testing.F) {
	for _, tc := range v2ServerFrames {
		seedFrames(f, tc.frame)
	}
	for _, s := range []string{
		`["3","4","room:lobby","phx_reply",{"status":"ok","response":{"x":1}}]`,
		` [ null , "2" , "phoenix" , "phx_reply" , { "status" : "x" , "response" : [ ] , "y" : 1 , "status" : "ok" } ] `,
		`[null,"1","t","phx_reply",{"response":{}}]`, `[null,"1","t","phx_reply",{"\u0073tatus":null,"response":1}]`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add(bin(0, 0, 1, 1, "t", "e", 7), true)
	f.Add(bin(1, 2, 3, 5, 2, "12", "123", "top"), true)
}

// refV2 decodes a client text frame with encoding/json, by the rules
// V2.Decode documents.
func refV2(data []byte) (wire.Message, bool) {
	var a []json.RawMessage
	if json.Unmarshal(data, &a) != nil || len(a) < 5 {
		return wire.Message{}, false
	}
	str := func(raw json.RawMessage, null, empty bool) (string, bool) {
		if null && string(raw) == "null" {
			return "", true
		}
		var s string
		if raw[0] != '"' || !utf8.Valid(raw) || json.Unmarshal(raw, &s) != nil || (!empty && s == "") {
			return "", false
		}
		return s, true
	}
	var m wire.Message
	var ok [4]bool
	m.JoinRef, ok[0] = str(a[0], true, true)
	m.Ref, ok[1] = str(a[1], true, true)
	m.Topic, ok[2] = str(a[2], false, false)
	m.Event, ok[3] = str(a[3], false, false)
	m.Payload = []byte(a[4])
	return m, ok == [4]bool{true, true, true, true}
}

func FuzzV2Decode(f *testing.F) {
	v2ClientSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, isBinary bool) {
		in := fuzzFrame(data, isBinary)
		m, err := wire.V2{}.Decode(in)
		if !isBinary {
			want, ok := refV2(data)
			if ok != (err == nil) {
				t.Fatalf("Decode(%q) error = %v, encoding/json reference ok = %v", data, err, ok)
			}
			if ok && !reflect.DeepEqual(m, want) {
				t.Fatalf("Decode(%q) = %#v, reference %#v", data, m, want)
			}
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkRoundTrip(t, m, in, wire.V2{}.EncodeClient, wire.V2{}.Decode)
	})
}

// refV2Server decodes a server text frame with encoding/json, by the
// rules V2.DecodeServer documents. sure is false where encoding/json and
// the documented rules may part (a reply payload with escapes, whose keys
// encoding/json unescapes): there only the round trip is checked.
func refV2Server(data []byte) (m wire.Message, ok, sure bool) {
	m, ok = refV2(data)
	if !ok {
		return m, false, true
	}
	if m.Event != "phx_reply" {
		if m.JoinRef == "" && m.Ref == "" {
			m.Kind = wire.KindBroadcast
		}
		return m, true, true
	}
	m.Kind = wire.KindReply
	return refReply(m)
}

// refReply unwraps the reply payload of m with encoding/json: status
// (string or null) and response, both required. sure is false for a
// payload with escapes, whose keys encoding/json unescapes.
func refReply(m wire.Message) (_ wire.Message, ok, sure bool) {
	if bytes.IndexByte(m.Payload, '\\') >= 0 {
		return m, false, false
	}
	var reply map[string]json.RawMessage
	if json.Unmarshal(m.Payload, &reply) != nil {
		return m, false, true
	}
	status, haveStatus := reply["status"]
	response, haveResponse := reply["response"]
	if !haveStatus || !haveResponse {
		return m, false, true
	}
	switch {
	case string(status) == "null":
	case status[0] == '"':
		if !utf8.Valid(status) || json.Unmarshal(status, &m.Status) != nil {
			return m, false, true
		}
	default:
		return m, false, true
	}
	m.Payload = []byte(response)
	return m, true, true
}

// refV1Server decodes a server frame with encoding/json, by the rules
// V1.DecodeServer documents (join_ref ignored).
func refV1Server(data []byte) (m wire.Message, ok, sure bool) {
	m, ok = refV1(data)
	if !ok {
		return m, false, true
	}
	m.JoinRef = ""
	switch {
	case m.Event == "phx_reply":
		m.Kind = wire.KindReply
		return refReply(m)
	case m.Ref == "":
		m.Kind = wire.KindBroadcast
	}
	return m, true, true
}

func FuzzV2DecodeServer(f *testing.F) {
	v2ServerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, isBinary bool) {
		in := fuzzFrame(data, isBinary)
		m, err := wire.V2{}.DecodeServer(in)
		if !isBinary {
			want, ok, sure := refV2Server(data)
			switch {
			case sure && ok != (err == nil):
				t.Fatalf("DecodeServer(%q) error = %v, encoding/json reference accepts: %v", data, err, ok)
			case sure && ok && !reflect.DeepEqual(m, want):
				t.Fatalf("DecodeServer(%q) = %#v, encoding/json reference %#v", data, m, want)
			}
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkRoundTrip(t, m, in, wire.V2{}.Encode, wire.V2{}.DecodeServer)
	})
}

// refV1 decodes a client frame with encoding/json, by the rules V1.Decode
// documents.
func refV1(data []byte) (wire.Message, bool) {
	var o map[string]json.RawMessage
	if json.Unmarshal(data, &o) != nil || o == nil {
		return wire.Message{}, false
	}
	str := func(key string, null, empty bool) (string, bool) {
		raw, ok := o[key]
		if !ok {
			return "", false
		}
		if null && string(raw) == "null" {
			return "", true
		}
		var s string
		if raw[0] != '"' || !utf8.Valid(raw) || json.Unmarshal(raw, &s) != nil || (!empty && s == "") {
			return "", false
		}
		return s, true
	}
	var m wire.Message
	var ok [5]bool
	m.Topic, ok[0] = str("topic", false, false)
	m.Event, ok[1] = str("event", false, false)
	m.Ref, ok[2] = str("ref", true, true)
	m.JoinRef, ok[3] = "", true
	if _, has := o["join_ref"]; has {
		m.JoinRef, ok[3] = str("join_ref", true, true)
	}
	var payload json.RawMessage
	payload, ok[4] = o["payload"]
	m.Payload = []byte(payload)
	return m, ok == [5]bool{true, true, true, true, true}
}

func v1Seeds(f *testing.F) {
	for _, tc := range v1ServerFrames {
		f.Add([]byte(tc.frame), false)
	}
	for _, s := range []string{
		`{"topic":"room:lobby","event":"phx_join","payload":{"user_id":"dave"},"ref":"1","join_ref":"1"}`,
		` { "x" : [1] , "payload" : { "a" : 1 } , "\u0072ef" : "7" , "event" : "e" , "topic" : "t" , "join_ref" : null } `,
		`{"topic":"a","topic":"b","event":"e","payload":null,"ref":"1"}`,
		`{"topic":"t","event":"e","payload":{}}`, `{"event":"phx_reply","payload":{"status":"ok"},"ref":"1","topic":"t"}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add(bin(2, 1, 1, "t", "e"), true)
}

func FuzzV1Decode(f *testing.F) {
	v1Seeds(f)
	f.Fuzz(func(t *testing.T, data []byte, isBinary bool) {
		in := fuzzFrame(data, isBinary)
		m, err := wire.V1{}.Decode(in)
		if !isBinary {
			want, ok := refV1(data)
			if ok != (err == nil) {
				t.Fatalf("Decode(%q) error = %v, encoding/json reference ok = %v", data, err, ok)
			}
			if ok && !reflect.DeepEqual(m, want) {
				t.Fatalf("Decode(%q) = %#v, reference %#v", data, m, want)
			}
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkRoundTrip(t, m, in, wire.V1{}.EncodeClient, wire.V1{}.Decode)
	})
}

func FuzzV1DecodeServer(f *testing.F) {
	v1Seeds(f)
	f.Fuzz(func(t *testing.T, data []byte, isBinary bool) {
		in := fuzzFrame(data, isBinary)
		m, err := wire.V1{}.DecodeServer(in)
		if !isBinary {
			want, ok, sure := refV1Server(data)
			switch {
			case sure && ok != (err == nil):
				t.Fatalf("DecodeServer(%q) error = %v, encoding/json reference accepts: %v", data, err, ok)
			case sure && ok && !reflect.DeepEqual(m, want):
				t.Fatalf("DecodeServer(%q) = %#v, encoding/json reference %#v", data, m, want)
			}
		}
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		checkRoundTrip(t, m, in, wire.V1{}.Encode, wire.V1{}.DecodeServer)
	})
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "1.0.0", "2.0.0", "2.0.1-rc.1", "2.0.0-rc.1", "2.1.0", "123.1.1", "02.0.0", "2.0.0+b.01", "2.0.1-0a.1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vsn string) {
		s, err := wire.Negotiate(vsn)
		want := wantVersion(vsn)
		if want == "" {
			if !errors.Is(err, wire.ErrUnsupportedVersion) {
				t.Fatalf("Negotiate(%q) error = %v, want ErrUnsupportedVersion", vsn, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Negotiate(%q) error = %v, want %s", vsn, err, want)
		}
		if s.Version() != want {
			t.Fatalf("Negotiate(%q).Version() = %s, want %s", vsn, s.Version(), want)
		}
	})
}
