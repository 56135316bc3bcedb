// Command conformance is the app every client test drives: it implements
// the contract in CONFORMANCE.md (shared/CONFORMANCE.md in the project's
// steering repo) with suzaku's public API only.
//
//	go run ./examples/conformance -addr 127.0.0.1:4000
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
	addr := flag.String("addr", "127.0.0.1:4000", "address to listen on")
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
	if err := run(ctx, *addr, *pprof, log); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, profile bool, log *slog.Logger) error {
	app, err := newApp(log)
	if err != nil {
		return err
	}
	if profile {
		app.mux.HandleFunc("/debug/pprof/", pprof.Index)
		app.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	return app.Serve(ctx, ln)
}
