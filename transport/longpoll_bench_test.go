package transport_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/transport"
)

// BenchmarkLongPollSession pushes batches of 100 messages through one
// session (a POST of 100 echo pushes, then polls until the 100 replies are
// in), as phoenix.js batches them.
func BenchmarkLongPollSession(b *testing.B) {
	env := newLP(b, transport.LongPollConfig{})
	c := env.open("")
	c.join("room:bench", "1")
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = fmt.Sprintf(`["1","%d","room:bench","echo",{"body":"hello, world","n":%d}]`, i+2, i)
	}
	body := strings.Join(lines, "\n")
	msgs := 0
	for b.Loop() {
		c.post(body)
		for got := 0; got < 100; {
			r := c.poll()
			got += len(r.msgs())
		}
		msgs += 100
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkLongPollBroadcast measures broadcasts reaching a LongPoll
// client that polls in a loop, as phoenix.js does: "one" is the latency of
// a single broadcast (Socket.Broadcast to the client holding the frame),
// "burst100" the throughput of 100 broadcasts at once, which the client
// gets in a few polls.
func BenchmarkLongPollBroadcast(b *testing.B) {
	for _, burst := range []int{1, 100} {
		name := "one"
		if burst > 1 {
			name = fmt.Sprintf("burst%d", burst)
		}
		b.Run(name, func(b *testing.B) { benchBroadcast(b, burst) })
	}
}

func benchBroadcast(b *testing.B, burst int) {
	env := newLP(b, transport.LongPollConfig{})
	c := env.open("")
	c.join("room:bench", "1")
	got := make(chan int, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			r, err := env.do(ctx, "GET", c.query(), nil, "")
			if err != nil {
				return
			}
			if n := len(r.msgs()); n > 0 {
				got <- n
			}
		}
	}()
	payload := map[string]string{"body": "hello, world"}
	msgs := 0
	for b.Loop() {
		for range burst {
			if err := env.sock.Broadcast(ctx, "room:bench", "news", payload); err != nil {
				b.Fatal(err)
			}
		}
		for n := 0; n < burst; {
			n += <-got
		}
		msgs += burst
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(msgs), "µs/msg")
}
