package local

import (
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"
)

type count struct{ n int }

func (c *count) Deliver(*pubsub.Message) { c.n++ }

func TestReceive(t *testing.T) {
	t.Parallel()
	m := &pubsub.Message{Topic: "t", Event: "e", Payload: []byte("{}")}
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"another node's broadcast", envelope.Encode(false, "b", m), true},
		{"our own broadcast", envelope.Encode(false, "a", m), false},
		{"direct to us", envelope.Encode(true, "a", m), true},
		{"direct to another node", envelope.Encode(true, "b", m), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &count{}
			n := Node{Prefix: "test", Name: "a", Reg: pubsub.NewRegistry(0)}
			n.Reg.Subscribe("t", c)
			got, err := n.Receive(tt.data)
			if err != nil || got != tt.want || (c.n == 1) != tt.want {
				t.Fatalf("Receive = %v, %v (delivered %d), want %v", got, err, c.n, tt.want)
			}
		})
	}
	n := Node{Name: "a", Reg: pubsub.NewRegistry(0)}
	if _, err := n.Receive([]byte("garbage")); err == nil {
		t.Fatal("Receive(garbage) = nil error")
	}
}

func TestHello(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	n := Node{Name: "a", Reg: pubsub.NewRegistry(0)}
	n.Hello.Now = func() time.Time { return now }
	c := &count{}
	n.Reg.Subscribe(HelloTopic, c)
	own := envelope.Encode(true, "a", n.Hello.Message())
	other := envelope.Encode(true, "a", (&Hello{}).Message())
	for _, data := range [][]byte{own, envelope.Encode(true, "b", (&Hello{}).Message())} {
		if ok, err := n.Receive(data); ok || err != nil {
			t.Fatalf("Receive(hello) = %v, %v, want false, nil", ok, err)
		}
	}
	if n.Hello.Duplicate() {
		t.Fatal("Duplicate() = true after our own hello and another node's")
	}
	if ok, err := n.Receive(other); ok || err != nil {
		t.Fatalf("Receive(namesake's hello) = %v, %v, want false, nil", ok, err)
	}
	if !n.Hello.Duplicate() {
		t.Fatal("Duplicate() = false after a namesake's hello")
	}
	if c.n != 0 {
		t.Fatalf("hellos reached %d subscribers, want 0", c.n)
	}
	now = now.Add(duplicateFor + time.Second)
	if n.Hello.Duplicate() {
		t.Fatal("Duplicate() = true three periods after the last namesake's hello")
	}
}
