// Command conformance is the app every client test drives: it implements
// the contract in examples/conformance/README.md with suzaku's public API
// only.
//
//	go run ./examples/conformance -addr 127.0.0.1:4000
//
// Several nodes make one server when they name the same broker:
//
//	go run ./examples/conformance -addr 127.0.0.1:4001 -broker redis://127.0.0.1:6379 -node a
//	go run ./examples/conformance -addr 127.0.0.1:4002 -broker redis://127.0.0.1:6379 -node b
//
// Every flag is also read from the environment: -drain-delay from
// SUZAKU_DRAIN_DELAY (a flag given on the command line wins). The effective
// configuration is printed at start, on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/suzaku-go/suzaku/internal/flagenv"
)

func main() {
	opts, log, err := parseOptions(os.Args[1:], nil, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, log); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

// parseOptions reads the flags, then SUZAKU_* for those not given, prints
// the effective configuration on out and makes the logger.
func parseOptions(args []string, lookup func(string) (string, bool), out io.Writer) (options, *slog.Logger, error) {
	var opts options
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:4000", "address to listen on")
	fs.StringVar(&opts.broker, "broker", "", "broker URL: memory, redis://HOST:PORT[/DB] or nats://HOST:PORT (empty: memory)")
	fs.StringVar(&opts.node, "node", "", "this node's name, unique in the cluster (empty: host name and port)")
	fs.StringVar(&opts.secret, "secret", "", "secret the nodes share to sign LongPoll sessions, 32 bytes or more (empty: a development secret)")
	fs.DurationVar(&opts.drainDelay, "drain-delay", time.Second, "after SIGTERM, serve this long unready (/readyz 503) before closing sockets")
	fs.StringVar(&opts.dashboardPassword, "dashboard-password", "", "serve the live dashboard at /ops/ to user ops with this password (empty: no dashboard)")
	fs.BoolVar(&opts.pprof, "pprof", false, "serve net/http/pprof and runtime figures under the dashboard, /ops/debug/pprof/ (needs -dashboard-password)")
	verbose := fs.Bool("v", false, "log debug messages")
	jsonLogs := fs.Bool("log-json", false, "log JSON lines instead of text")
	set, err := flagenv.Parse(fs, args, "SUZAKU_", lookup)
	if err != nil {
		return opts, nil, err
	}
	if _, _, err := net.SplitHostPort(opts.addr); err != nil {
		return opts, nil, set.Invalid("addr", err)
	}
	if opts.pprof && opts.dashboardPassword == "" {
		return opts, nil, set.Invalid("pprof", errors.New("profiling is served behind the dashboard's protection: set -dashboard-password"))
	}
	if opts.drainDelay < 0 {
		return opts, nil, set.Invalid("drain-delay", errors.New("negative"))
	}
	set.Print(out)
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, hopts)
	if *jsonLogs {
		h = slog.NewJSONHandler(os.Stderr, hopts)
	}
	return opts, slog.New(h), nil
}

func run(ctx context.Context, opts options, log *slog.Logger) error {
	app, err := newApp(opts, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s (node %s, broker %s)\n", ln.Addr(), app.cluster.Node(), app.cluster.Kind())
	return app.Serve(ctx, ln)
}
