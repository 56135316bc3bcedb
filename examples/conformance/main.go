// Command conformance is the app every client test drives: it implements
// the contract in CONFORMANCE.md (shared/CONFORMANCE.md in the project's
// steering repo) with suzaku's public API only.
//
//	go run ./examples/conformance -addr 127.0.0.1:4000
//
// Several nodes make one server when they name the same broker:
//
//	go run ./examples/conformance -addr 127.0.0.1:4001 -broker redis://127.0.0.1:6379 -node a
//	go run ./examples/conformance -addr 127.0.0.1:4002 -broker redis://127.0.0.1:6379 -node b
//
// -broker defaults to $SUZAKU_BROKER, then "memory" (one node); -node to
// $SUZAKU_NODE, then the host name and port.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var opts options
	flag.StringVar(&opts.addr, "addr", "127.0.0.1:4000", "address to listen on")
	flag.StringVar(&opts.broker, "broker", os.Getenv("SUZAKU_BROKER"), "broker URL: memory, redis://HOST:PORT[/DB] or nats://HOST:PORT (default $SUZAKU_BROKER, else memory)")
	flag.StringVar(&opts.node, "node", os.Getenv("SUZAKU_NODE"), "this node's name, unique in the cluster (default $SUZAKU_NODE, else host name and port)")
	verbose := flag.Bool("v", false, "log debug messages")
	pprof := flag.Bool("pprof", false, "serve net/http/pprof at /debug/pprof/ (for profiling load tests)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(ctx, opts, *pprof, log); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts options, profile bool, log *slog.Logger) error {
	app, err := newApp(opts, log)
	if err != nil {
		return err
	}
	if profile {
		app.mux.HandleFunc("/debug/pprof/", pprof.Index)
		app.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s (node %s, broker %s)\n", ln.Addr(), app.cluster.Node(), app.cluster.Kind())
	return app.Serve(ctx, ln)
}
