package main

import (
	"encoding/json"
	"time"
)

// The coordinator drives its client processes with JSON lines: commands
// on the child's stdin, events on its stdout. Every command is answered by
// one "ack" event with the same Seq (the connect command's once every
// connection is up or has failed); "progress" and "round" events come
// unasked.

// Commands (command.Op).
const (
	opConnect = "connect" // open and join connections: connectSpec
	opReset   = "reset"   // forget deliveries; expect rounds Base..Base+Rounds-1
	opStats   = "stats"   // report deliveries so far
	opDrain   = "drain"   // let non-reading clients read again; report how they ended
	opClose   = "close"   // close every connection and exit
	// The scenarios of their own files.
	opPush     = "push"     // mixed.go: pushes with replies, pushSpec
	opStorm    = "storm"    // storm.go: drop every connection, reconnect
	opLongPoll = "longpoll" // longpoll.go: open LongPoll clients, lpSpec
	opPresence = "presence" // presence.go: the presence samples' lists
)

// Events (event.Type).
const (
	evAck      = "ack"
	evProgress = "progress"
	evRound    = "round" // every reading connection of the child got round R
)

type command struct {
	Seq     int64        `json:"seq"`
	Op      string       `json:"op"`
	Connect *connectSpec `json:"connect,omitempty"`
	Base    int64        `json:"base,omitempty"`   // reset: first round
	Rounds  int          `json:"rounds,omitempty"` // reset: how many rounds
	Wait    Duration     `json:"wait,omitempty"`   // drain: how long to read
	// Spec is the argument of the ops of the scenarios' own files.
	Spec json.RawMessage `json:"spec,omitempty"`
}

// connectSpec says which connections a child opens.
type connectSpec struct {
	URL         string   `json:"url"`    // ws://host:port/socket/websocket
	Local       string   `json:"local"`  // source IP, 127.x.y.z
	First       int      `json:"first"`  // user of the first connection: bench<First>
	N           int      `json:"n"`      // how many
	Topics      []string `json:"topics"` // joined in order, join_ref "1", "2", …
	Concurrency int      `json:"concurrency"`
	// Slow connections stop reading once joined (until drain), with a
	// receive buffer of RcvBuf bytes.
	Slow      bool     `json:"slow,omitempty"`
	RcvBuf    int      `json:"rcvbuf,omitempty"`
	Timeout   Duration `json:"timeout"` // for one connection's dial, upgrade and joins
	Heartbeat Duration `json:"heartbeat"`
	// Rate paces the joins, per second (0: as fast as Concurrency allows);
	// every Sample-th connection keeps a presence list (presence.go).
	Rate   float64 `json:"rate,omitempty"`
	Sample int     `json:"sample,omitempty"`
	// Group is the size of the groups of a topic with "{g}" (mixed.go).
	Group int `json:"group,omitempty"`
}

type event struct {
	Type     string          `json:"type"`
	Seq      int64           `json:"seq,omitempty"`
	Err      string          `json:"err,omitempty"`
	Progress *progressReport `json:"progress,omitempty"`
	Connect  *connectReport  `json:"connect,omitempty"`
	Stats    *statsReport    `json:"stats,omitempty"`
	Drain    *drainReport    `json:"drain,omitempty"`
	Round    int64           `json:"round,omitempty"`
	// Result is the answer of the ops of the scenarios' own files.
	Result json.RawMessage `json:"result,omitempty"`

	child int // set by the coordinator: which child sent it
}

type progressReport struct {
	Connected int `json:"connected"`
	Joined    int `json:"joined"`
	Failed    int `json:"failed"`
}

// connectReport is a child's account of a connect command.
type connectReport struct {
	progressReport
	// Where each connection's time went: TCP connect, the HTTP upgrade,
	// and the joins (request to reply, all topics).
	TCP     Hist           `json:"tcp"`
	Upgrade Hist           `json:"upgrade"`
	Join    Hist           `json:"join"`
	Errors  map[string]int `json:"errors,omitempty"`
	// Samples of error messages, a few per kind.
	Samples []string `json:"samples,omitempty"`
	// RSS is the client process's own resident memory once connected, KiB
	// (0 off Linux).
	RSS int64 `json:"rss_kib,omitempty"`
}

// statsReport is a child's account of the deliveries since its last reset.
type statsReport struct {
	// Expect is how many of the child's connections read broadcasts at
	// the reset: each round should reach them all.
	Expect     int64        `json:"expect"`
	Deliveries int64        `json:"deliveries"`
	Stray      int64        `json:"stray"` // deliveries of rounds outside the reset's range
	Latency    Hist         `json:"latency"`
	Rounds     []roundStats `json:"rounds"`
	// Closed counts connections the server closed (close frame or EOF),
	// by close code ("eof" when there was no close frame).
	Closed map[string]int `json:"closed,omitempty"`
	Errors map[string]int `json:"errors,omitempty"`
	// Heartbeats is how many heartbeats the child has sent since it
	// started, so that a server's frame counters can be checked exactly.
	Heartbeats int64 `json:"heartbeats,omitempty"`
}

// roundStats is one round as one child saw it. Times are Unix
// nanoseconds.
type roundStats struct {
	Round int64 `json:"round"`
	Count int64 `json:"count"`
	First int64 `json:"first,omitempty"`
	Last  int64 `json:"last,omitempty"`
}

// drainReport tells how the slow connections ended.
type drainReport struct {
	Slow   int            `json:"slow"`
	Open   int            `json:"open"`             // still open after the wait
	Closed map[string]int `json:"closed,omitempty"` // by close code, "eof" or "reset"
	Bytes  int64          `json:"bytes"`            // read while draining
}

// Duration is a time.Duration that reads and writes JSON as "1.5s".
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what time.ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}
