// Command suzaku-abuse replays the cheap abuses of the security review
// against a built chat or conformance server, and reports, for each, what
// the server answered, its RSS before, at peak and after, and the round
// trip latency of a bystander client meanwhile. Each abuse runs against a
// fresh server process, so that figures do not carry over.
//
//	go build -o /tmp/chat ./examples/chat
//	go build -o /tmp/conformance ./examples/conformance
//	flock /tmp/suzaku-load.lock go run ./cmd/suzaku-abuse -chat /tmp/chat -conformance /tmp/conformance
//
// It exists to measure the defences before and after a change: build the
// two apps at both commits and compare the tables.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.chat, "chat", "", "path of a built chat server (go build ./examples/chat)")
	flag.StringVar(&cfg.conformance, "conformance", "", "path of a built conformance server")
	only := flag.String("only", "", "comma-separated abuses to run (default all)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *only); err != nil {
		fmt.Fprintln(os.Stderr, "suzaku-abuse:", err)
		os.Exit(1)
	}
}

type config struct{ chat, conformance string }

func run(ctx context.Context, cfg config, only string) error {
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "abuse\tapp\toutcome\tRSS MiB start/peak/end\tbystander ms p50/p99/max")
	for _, a := range abuses {
		if len(want) > 0 && !want[a.name] {
			continue
		}
		bin := cfg.chat
		if a.app == "conformance" {
			bin = cfg.conformance
		}
		if bin == "" {
			continue
		}
		r, err := measure(ctx, a, bin)
		if err != nil {
			fmt.Fprintf(tw, "%s\t%s\terror: %v\t\t\n", a.name, a.app, err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f/%.0f/%.0f\t%s\n", a.name, a.app, r.outcome, r.rss[0], r.rss[1], r.rss[2], r.latency)
		tw.Flush()
	}
	return tw.Flush()
}
