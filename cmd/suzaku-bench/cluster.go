package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// childLink is the coordinator's end of one client process.
type childLink struct {
	pid  int // 0 for a client running in this process (tests)
	in   io.WriteCloser
	out  io.Reader
	wait func() error
	// kill ends the client if it does not exit by itself.
	kill func()
}

// spawner starts client number i.
type spawner func(ctx context.Context, i int) (*childLink, error)

// execSpawner starts clients as child processes of this executable (the
// hidden "client" subcommand), each of which exits after lifetime at the
// latest, or as soon as its stdin closes.
func execSpawner(lifetime time.Duration) spawner {
	return func(ctx context.Context, i int) (*childLink, error) {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(self, "client", "-lifetime", lifetime.String())
		cmd.Stderr = os.Stderr
		cmd.WaitDelay = 5 * time.Second
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start client %d: %w", i, err)
		}
		return &childLink{
			pid: cmd.Process.Pid, in: in, out: out, wait: cmd.Wait,
			kill: func() { _ = cmd.Process.Kill() },
		}, nil
	}
}

// inProcessSpawner runs clients as goroutines of this process, talking
// through pipes exactly as child processes do. The tests use it.
func inProcessSpawner() spawner {
	return func(ctx context.Context, i int) (*childLink, error) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			err := runChild(cctx, inR, outW)
			outW.Close()
			inR.Close()
			done <- err
		}()
		var once sync.Once
		var werr error
		return &childLink{
			in: inW, out: outR,
			wait: func() error {
				once.Do(func() { werr = <-done; cancel() })
				return werr
			},
			kill: cancel,
		}, nil
	}
}

// cluster is a set of client processes that act as one: every command
// goes to all of them, and the coordinator waits for every answer.
type cluster struct {
	label  string
	kids   []*childLink
	events chan event
	stop   chan struct{} // closed by close: readers stop forwarding
	seq    int64
	// done counts, per round, the clients that saw it complete.
	done     map[int64]int
	progress []progressReport
	log      *progressLog
	closed   bool
}

// newCluster starts n clients with spawn.
func newCluster(ctx context.Context, label string, n int, spawn spawner, log *progressLog) (*cluster, error) {
	c := &cluster{
		label:    label,
		events:   make(chan event, 1024),
		stop:     make(chan struct{}),
		done:     make(map[int64]int),
		progress: make([]progressReport, n),
		log:      log,
	}
	for i := range n {
		k, err := spawn(ctx, i)
		if err != nil {
			c.close(ctx)
			return nil, err
		}
		c.kids = append(c.kids, k)
		go c.read(i, k)
	}
	return c, nil
}

// read forwards client i's events until its output ends.
func (c *cluster) read(i int, k *childLink) {
	sc := bufio.NewScanner(k.out)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	forward := func(ev event) bool {
		ev.child = i
		select {
		case c.events <- ev:
			return true
		case <-c.stop:
			return false
		}
	}
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			ev = event{Type: "garbage", Err: fmt.Sprintf("%v: %.80q", err, sc.Bytes())}
		}
		if !forward(ev) {
			return
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	forward(event{Type: "exit", Err: err.Error()})
}

// errClientExited reports a client that ended while the coordinator
// still needed it.
var errClientExited = errors.New("client exited")

// call sends each client the command mk(i) and returns their answers, in
// client order. Round and progress events that arrive meanwhile are
// recorded.
func (c *cluster) call(ctx context.Context, timeout time.Duration, mk func(i int) command) ([]event, error) {
	c.seq++
	seq := c.seq
	for i, k := range c.kids {
		cmd := mk(i)
		cmd.Seq = seq
		b, _ := json.Marshal(cmd)
		if _, err := k.in.Write(append(b, '\n')); err != nil {
			return nil, fmt.Errorf("client %d: send %s: %w", i, cmd.Op, err)
		}
	}
	acks := make([]event, len(c.kids))
	acked := make([]bool, len(c.kids))
	got := 0
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for got < len(c.kids) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, fmt.Errorf("%s: %d of %d clients answered in %v", c.label, got, len(c.kids), timeout)
		case ev := <-c.events:
			if err := c.note(ev); err != nil {
				return nil, err
			}
			switch {
			case acked[ev.child]:
			case ev.Type == evAck && ev.Seq == seq:
				if ev.Err != "" {
					return nil, fmt.Errorf("client %d: %s", ev.child, ev.Err)
				}
				acks[ev.child], acked[ev.child] = ev, true
				got++
			case ev.Type == "exit": // only while closing: note returned nil
				acked[ev.child] = true
				got++
			}
		}
	}
	return acks, nil
}

// note records an unasked event.
func (c *cluster) note(ev event) error {
	switch ev.Type {
	case evRound:
		c.done[ev.Round]++
	case evProgress:
		if ev.Progress != nil {
			c.progress[ev.child] = *ev.Progress
			c.log.connect(c.label, c.progress)
		}
	case "exit":
		if c.closed {
			return nil // it was asked to
		}
		return fmt.Errorf("%s: client %d: %w (%s)", c.label, ev.child, errClientExited, ev.Err)
	case "garbage":
		return fmt.Errorf("%s: client %d wrote %s", c.label, ev.child, ev.Err)
	}
	return nil
}

// waitRound waits until want clients saw round r complete, or timeout.
func (c *cluster) waitRound(ctx context.Context, r int64, want int, timeout time.Duration) (bool, error) {
	if c.done[r] >= want {
		return true, nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-timer.C:
			return false, nil
		case ev := <-c.events:
			if err := c.note(ev); err != nil {
				return false, err
			}
			if c.done[r] >= want {
				return true, nil
			}
		}
	}
}

// pump records the events that arrived so far, without waiting.
func (c *cluster) pump() error {
	for {
		select {
		case ev := <-c.events:
			if err := c.note(ev); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// close asks every client to close its connections and exit, and waits
// for them (killing those that do not exit in time).
func (c *cluster) close(ctx context.Context) {
	if c.closed {
		return
	}
	c.closed = true
	if len(c.kids) > 0 {
		_, err := c.call(ctx, 30*time.Second, func(int) command { return command{Op: opClose} })
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: close: %v\n", c.label, err)
		}
	}
	close(c.stop)
	for _, k := range c.kids {
		k.in.Close()
		exited := make(chan struct{})
		go func() { _ = k.wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			k.kill()
			<-exited
		}
	}
}

// pids returns the process ids of the clients (none in process).
func (c *cluster) pids() []int {
	var p []int
	for _, k := range c.kids {
		if k.pid > 0 {
			p = append(p, k.pid)
		}
	}
	return p
}

// progressLog writes progress lines to stderr, at most one a second.
type progressLog struct {
	w     io.Writer
	last  time.Time
	quiet bool
}

func (l *progressLog) connect(label string, ps []progressReport) {
	if l == nil || l.quiet || time.Since(l.last) < time.Second {
		return
	}
	l.last = time.Now()
	var sum progressReport
	for _, p := range ps {
		sum.Connected += p.Connected
		sum.Joined += p.Joined
		sum.Failed += p.Failed
	}
	fmt.Fprintf(l.w, "%s: connected %d, joined %d, failed %d\n", label, sum.Connected, sum.Joined, sum.Failed)
}

// printf writes one line, unless quiet.
func (l *progressLog) printf(format string, args ...any) {
	if l == nil || l.quiet {
		return
	}
	fmt.Fprintf(l.w, format+"\n", args...)
}

// childMain is the hidden "client" subcommand.
func childMain(ctx context.Context, args []string) error {
	lifetime := 2 * time.Hour
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "-lifetime" {
			d, err := time.ParseDuration(args[i+1])
			if err != nil {
				return err
			}
			lifetime = d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	err := runChild(ctx, os.Stdin, os.Stdout)
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("client: lifetime of " + strconv.Quote(lifetime.String()) + " reached")
	}
	return err
}
