// Command chat is suzaku's reference app: a realtime chat SPA (in web/,
// built with Vite) and its Go server, which uses the framework as any
// application would: a JSON API with accounts and rooms, a room channel
// with presence and typing, history with cursor pagination, cached room
// lists invalidated live, SQLite by default and PostgreSQL on demand.
//
//	make chat                      # builds web/ and runs this at http://localhost:4000
//	go run ./examples/chat -addr localhost:4000 -web examples/chat/web/dist
//
// Two nodes over one broker make one chat server (they share the data
// directory, hence the database and the token secret):
//
//	go run ./examples/chat -addr localhost:4001 -broker redis://127.0.0.1:6379
//	go run ./examples/chat -addr localhost:4002 -broker redis://127.0.0.1:6379
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
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "localhost:4000", "address to listen on")
	flag.StringVar(&cfg.web, "web", "examples/chat/web/dist", "directory of the built SPA")
	flag.StringVar(&cfg.data, "data", "examples/chat/data", "directory for the SQLite database and the token secret")
	flag.StringVar(&cfg.dsn, "dsn", os.Getenv("CHAT_DATABASE_URL"), "PostgreSQL DSN (default $CHAT_DATABASE_URL); empty uses SQLite")
	flag.StringVar(&cfg.broker, "broker", os.Getenv("SUZAKU_BROKER"), "broker URL: memory, redis://HOST:PORT[/DB] or nats://HOST:PORT (default $SUZAKU_BROKER, else memory)")
	flag.StringVar(&cfg.node, "node", os.Getenv("SUZAKU_NODE"), "this node's name, unique in the cluster (default $SUZAKU_NODE, else host name and port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	return a.Serve(ctx, ln)
}
