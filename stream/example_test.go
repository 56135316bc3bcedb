package stream_test

import (
	"context"
	"fmt"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
)

// A client that saw offset 1 recovers what came after it.
func ExampleMemory() {
	ctx := context.Background()
	s, _ := stream.NewMemory(stream.MemoryConfig{Broker: pubsub.NewMemory(pubsub.MemoryConfig{})})
	lim := stream.Limits{Size: 100}
	var seen stream.Position
	for i, body := range []string{`"a"`, `"b"`, `"c"`} {
		pos, _ := s.Publish(ctx, &pubsub.Message{Topic: "stream:1", Event: "new_msg", Payload: []byte(body)}, lim)
		if i == 0 {
			seen = pos
		}
	}
	rec, _ := s.Recover(ctx, "stream:1", seen, lim)
	fmt.Println("recovered:", rec.Recovered, "up to", rec.Position.Offset)
	for _, m := range rec.Messages {
		fmt.Println(m.Offset, string(m.Payload))
	}
	// Output:
	// recovered: true up to 3
	// 2 "b"
	// 3 "c"
}
