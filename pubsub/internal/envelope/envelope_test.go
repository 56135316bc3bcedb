package envelope

import (
	"bytes"
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		only bool
		node string
		m    *pubsub.Message
	}{
		{name: "Except", node: "a", m: &pubsub.Message{Topic: "room:1", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)}},
		{name: "Only", only: true, node: "web-2@10.0.0.2", m: &pubsub.Message{Topic: "t", Event: "e", Payload: []byte(`{}`)}},
		{name: "Binary", node: "a", m: &pubsub.Message{Topic: "t", Event: "e", Payload: []byte{0, 0xff, 1}, Binary: true}},
		{name: "Empty", node: "n", m: &pubsub.Message{}},
		{name: "Offset", node: "n", m: &pubsub.Message{Topic: "stream:1", Event: "e", Payload: []byte(`{}`), Offset: 18446744073709551615, Epoch: "e-1"}},
		{name: "Long", node: string(bytes.Repeat([]byte("n"), 200)), m: &pubsub.Message{
			Topic: string(bytes.Repeat([]byte("t"), 70000)), Event: "é", Payload: bytes.Repeat([]byte("p"), 1<<17)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := Encode(tt.only, tt.node, tt.m)
			env, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode()) = %v", err)
			}
			got := env.Msg
			if env.Only != tt.only || string(env.Node) != tt.node || got.Topic != tt.m.Topic || got.Event != tt.m.Event ||
				got.Binary != tt.m.Binary || got.Offset != tt.m.Offset || got.Epoch != tt.m.Epoch || !bytes.Equal(got.Payload, tt.m.Payload) || got.From != nil {
				t.Fatalf("Decode(Encode()) = {%v %q %q %q %v %d bytes}, want {%v %q %q %q %v %d bytes}",
					env.Only, env.Node, got.Topic, got.Event, got.Binary, len(got.Payload),
					tt.only, tt.node, tt.m.Topic, tt.m.Event, tt.m.Binary, len(tt.m.Payload))
			}
		})
	}
}

// TestEnvelopeBytes pins the version 1 layout.
func TestEnvelopeBytes(t *testing.T) {
	t.Parallel()
	got := Encode(true, "b", &pubsub.Message{Topic: "t:1", Event: "ev", Payload: []byte("{}"), Binary: true})
	want := []byte("\x01\x03\x01b\x03t:1\x02ev{}")
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode() = %q, want %q", got, want)
	}
}

func TestEnvelopeMalformed(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "\x01", "\x00\x00\x01a\x00\x00", "\x02\x00\x01a\x00\x00", "\x01\x04\x01a\x00\x00",
		"\x01\x00\x00\x00\x00", "\x01\x00\x01", "\x01\x00\x02a", "\x01\x00\x01a\x05ab",
		"\x01\x00\x01a\x00", "\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
		"\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
		"\x01\x04\x01a\x00\x00", "\x01\x04\x01a\x00\x00\x010\x00", "\x01\x04\x01a\x00\x00\x0201\x00", "\x01\x04\x01a\x00\x00\x011",
		"\x01\x04\x01a\x00\x00\x1418446744073709551616", "\x01\x04\x01a\x00\x00\x021x",
	} {
		if env, err := Decode([]byte(s)); err == nil {
			t.Errorf("Decode(%q) = {%v %q %+v}, want an error", s, env.Only, env.Node, env.Msg)
		}
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add(Encode(false, "a", &pubsub.Message{Topic: "room:1", Event: "e", Payload: []byte(`{}`)}))
	f.Add(Encode(true, "b", &pubsub.Message{Topic: "", Event: "", Payload: []byte{0xff}, Binary: true}))
	f.Add([]byte("\x01\x00\x01a\x00\x00"))
	f.Add(Encode(false, "a", &pubsub.Message{Topic: "stream:1", Event: "e", Payload: []byte(`{}`), Offset: 42, Epoch: "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			return
		}
		// What decodes survives a round trip.
		again, err := Decode(Encode(env.Only, string(env.Node), env.Msg))
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %v", data, err)
		}
		m, m2 := env.Msg, again.Msg
		if again.Only != env.Only || !bytes.Equal(again.Node, env.Node) || m2.Topic != m.Topic || m2.Event != m.Event ||
			m2.Binary != m.Binary || m2.Offset != m.Offset || m2.Epoch != m.Epoch || !bytes.Equal(m2.Payload, m.Payload) {
			t.Fatalf("round trip of %q changed it", data)
		}
	})
}

func TestEnvelopeSplit(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{Topic: "stream:1", Event: "new_msg", Payload: []byte(`{"b":1}`)}
	head, tail := Split("\x00stream", m)
	data := append(append(append([]byte{}, head...), 3), "123\x02ep"...)
	data = append(data, tail...)
	env, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode(Split()) = %v", err)
	}
	if env.Only || string(env.Node) != "\x00stream" || env.Msg.Offset != 123 || env.Msg.Epoch != "ep" || env.Msg.Topic != m.Topic ||
		env.Msg.Event != m.Event || string(env.Msg.Payload) != string(m.Payload) {
		t.Fatalf("Decode(Split()) = {%v %q %+v}, want offset 123 of %+v", env.Only, env.Node, env.Msg, m)
	}
}
