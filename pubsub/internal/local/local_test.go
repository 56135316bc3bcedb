package local

import (
	"testing"

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
