package main

// The "stream-storm" subcommand: a reconnect storm on one stream topic. N clients
// join a stream:* topic of the conformance app, all drop at once, M
// messages are broadcast while they are away, and they all reconnect and
// rejoin at once with their last position: it measures the time until
// every client has recovered every message (once each, in order) and the
// server's CPU for it. It is self-contained (its own in-process clients,
// no child processes): N is bounded by the file descriptors of one
// process.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// StreamStormResult is the storm's report (printed, and written with --out).
type StreamStormResult struct {
	Clients        int     `json:"clients"`
	Messages       int     `json:"messages"`
	Recovered      int     `json:"recovered"`     // rejoins answered recovered true
	Complete       int     `json:"complete"`      // clients with every message once, in order
	Failed         int     `json:"failed"`        // clients that errored or timed out
	TotalMs        float64 `json:"total_ms"`      // from the storm's start until the last client is complete
	P50Ms          float64 `json:"p50_ms"`        // per client: from its dial to its last message
	P99Ms          float64 `json:"p99_ms"`        //
	MaxMs          float64 `json:"max_ms"`        //
	ServerCPUMs    float64 `json:"server_cpu_ms"` // user+system of --pid during the storm
	ServerCPUPerMs float64 `json:"server_cpu_per_client_ms"`
	FreshJoinMs    float64 `json:"fresh_join_ms"` // baseline: the same N clients joining afresh (no replay)
	FreshCPUMs     float64 `json:"fresh_cpu_ms"`  // and the server's CPU for that
}

func streamStormMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stream-storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "base URL of the conformance app (loopback)")
	pid := fs.Int("pid", 0, "the server's process id, for its CPU")
	n := fs.Int("conns", 5000, "clients on the stream topic")
	m := fs.Int("messages", 100, "messages broadcast while they are away")
	timeout := fs.Duration("timeout", 60*time.Second, "how long the storm may take")
	out := fs.String("out", "", "write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := checkLoopback(*server)
	if err != nil {
		return err
	}
	if *n <= 0 || *m <= 0 || *m > 100 {
		return fmt.Errorf("--conns must be > 0 and --messages 1…100 (the app keeps 100)")
	}
	wsURL := "ws://" + base.Host + "/socket/websocket?vsn=2.0.0"
	topic := fmt.Sprintf("stream:storm-%d", time.Now().UnixNano())
	cpu := func() time.Duration {
		if *pid <= 0 {
			return 0
		}
		d, _ := readCPU(*pid)
		return d
	}
	say := func(format string, a ...any) { fmt.Fprintf(stderr, "stream-storm: "+format+"\n", a...) }

	// Baseline of the same run: N clients join afresh, all at once.
	say("%d clients join %s afresh (baseline)", *n, topic)
	c0 := cpu()
	t0 := time.Now()
	clients := make([]*streamStormClient, *n)
	if err := streamForAll(ctx, *n, *n, func(i int) error {
		c, err := dialStreamStorm(ctx, wsURL, fmt.Sprintf("storm%d", i))
		if err != nil {
			return err
		}
		clients[i] = c
		_, err = c.join(topic, nil)
		return err
	}); err != nil {
		return err
	}
	res := StreamStormResult{Clients: *n, Messages: *m}
	res.FreshJoinMs = streamStormMs(time.Since(t0))
	res.FreshCPUMs = streamStormMs(cpu() - c0)
	pos := clients[0].pos
	say("joined in %.0f ms at %s/%d; all drop", res.FreshJoinMs, pos.Epoch, pos.Offset)
	for _, c := range clients {
		c.conn.Close()
	}
	httpc := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= *m; i++ {
		body, _ := json.Marshal(map[string]any{"topic": topic, "event": "new_msg", "payload": map[string]any{"body": i, "pad": "a hundred bytes or so of chat message, as in the load tests"}})
		resp, err := httpc.Post("http://"+base.Host+"/api/broadcast", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST /api/broadcast: %s", resp.Status)
		}
	}
	say("%d messages broadcast; the storm: %d clients rejoin at once", *m, *n)
	var recovered, complete, failed atomic.Int64
	durs := make([]time.Duration, *n)
	sctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c1 := cpu()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range *n {
		wg.Go(func() {
			t := time.Now()
			c, err := dialStreamStorm(sctx, wsURL, fmt.Sprintf("storm%d", i))
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.conn.Close()
			want := pos.Offset + uint64(*m)
			ok, err := c.join(topic, &pos)
			if err != nil {
				failed.Add(1)
				return
			}
			if ok {
				recovered.Add(1)
			}
			if err := c.until(sctx, want); err != nil {
				failed.Add(1)
				return
			}
			if c.inOrder(pos.Offset+1, want) {
				complete.Add(1)
			}
			durs[i] = time.Since(t)
		})
	}
	wg.Wait()
	res.TotalMs = streamStormMs(time.Since(start))
	res.ServerCPUMs = streamStormMs(cpu() - c1)
	res.ServerCPUPerMs = res.ServerCPUMs / float64(*n)
	res.Recovered, res.Complete, res.Failed = int(recovered.Load()), int(complete.Load()), int(failed.Load())
	done := slices.DeleteFunc(durs, func(d time.Duration) bool { return d == 0 })
	slices.Sort(done)
	if len(done) > 0 {
		res.P50Ms = streamStormMs(done[len(done)/2])
		res.P99Ms = streamStormMs(done[len(done)*99/100])
		res.MaxMs = streamStormMs(done[len(done)-1])
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(stdout, string(b))
	if *out != "" {
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if res.Complete != *n {
		return fmt.Errorf("%d of %d clients recovered every message (%d failed)", res.Complete, *n, res.Failed)
	}
	return nil
}

func streamStormMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// streamForAll runs f(0…n-1), at most conc at once, and returns the first
// error.
func streamForAll(ctx context.Context, n, conc int, f func(i int) error) error {
	sem := make(chan struct{}, conc)
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				once.Do(func() { first = err })
			}
		})
	}
	wg.Wait()
	return first
}

// streamStormClient is one raw V2 JSON client of the storm.
type streamStormClient struct {
	conn net.Conn
	br   *bufio.Reader
	pos  streamPos
	offs []uint64 // offsets of the new_msg frames received, in order
}

type streamPos struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

func dialStreamStorm(ctx context.Context, wsURL, user string) (*streamStormClient, error) {
	conn, br, _, err := ws.Dialer{Timeout: 30 * time.Second}.Dial(ctx, wsURL+"&user="+user)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &streamStormClient{conn: conn, br: br}, nil
}

// join joins topic (from pos when set) and returns whether the reply says
// recovered; pos is set to the reply's position.
func (c *streamStormClient) join(topic string, from *streamPos) (bool, error) {
	params := []byte("{}")
	if from != nil {
		params, _ = json.Marshal(from)
	}
	frame := fmt.Appendf(nil, `["1","1",%q,"phx_join",%s]`, topic, params)
	if err := wsutil.WriteClientText(c.conn, frame); err != nil {
		return false, err
	}
	for {
		el, err := c.next()
		if err != nil {
			return false, err
		}
		if string(el[3]) != `"phx_reply"` {
			c.note(el)
			continue
		}
		var r struct {
			Status   string `json:"status"`
			Response struct {
				streamPos
				Recovered bool `json:"recovered"`
			} `json:"response"`
		}
		if err := json.Unmarshal(el[4], &r); err != nil || r.Status != "ok" {
			return false, fmt.Errorf("join: %s", el[4])
		}
		c.pos = r.Response.streamPos
		return r.Response.Recovered, nil
	}
}

func (c *streamStormClient) next() ([]json.RawMessage, error) {
	data, err := wsutil.ReadServerText(struct {
		io.Reader
		io.Writer
	}{c.br, c.conn})
	if err != nil {
		return nil, err
	}
	var el []json.RawMessage
	if err := json.Unmarshal(data, &el); err != nil || len(el) != 5 {
		return nil, fmt.Errorf("bad frame %q", data)
	}
	return el, nil
}

func (c *streamStormClient) note(el []json.RawMessage) {
	if string(el[3]) != `"new_msg"` {
		return
	}
	var ref string
	if json.Unmarshal(el[1], &ref) == nil {
		if off, err := strconv.ParseUint(ref, 10, 64); err == nil {
			c.offs = append(c.offs, off)
		}
	}
}

// until reads until the frame with offset want.
func (c *streamStormClient) until(ctx context.Context, want uint64) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetReadDeadline(dl)
	}
	for len(c.offs) == 0 || c.offs[len(c.offs)-1] < want {
		el, err := c.next()
		if err != nil {
			return err
		}
		c.note(el)
	}
	return nil
}

func (c *streamStormClient) inOrder(from, to uint64) bool {
	if uint64(len(c.offs)) != to-from+1 {
		return false
	}
	for i, o := range c.offs {
		if o != from+uint64(i) {
			return false
		}
	}
	return true
}
