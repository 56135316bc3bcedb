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
// Nodes with data directories of their own (PostgreSQL) share -secret
// (SUZAKU_SECRET) instead, so that a token from one is valid on all.
//
// Every flag is also read from the environment: -broker from SUZAKU_BROKER,
// -dsn from SUZAKU_DSN (or CHAT_DATABASE_URL); a flag given on the command
// line wins. The effective configuration is printed at start, on stderr,
// with secrets redacted. -log-json switches the logs to JSON lines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/suzaku-go/suzaku/internal/flagenv"
)

func main() {
	cfg, log, err := parseConfig(os.Args[1:], nil, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// parseConfig reads the flags, then SUZAKU_* for those not given, prints
// the effective configuration on out and makes the logger.
func parseConfig(args []string, lookup func(string) (string, bool), out io.Writer) (config, *slog.Logger, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var cfg config
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "localhost:4000", "address to listen on")
	fs.StringVar(&cfg.web, "web", "examples/chat/web/dist", "directory of the built SPA")
	fs.StringVar(&cfg.data, "data", "examples/chat/data", "directory for the SQLite database and the token secret")
	dsn, _ := lookup("CHAT_DATABASE_URL")
	fs.StringVar(&cfg.dsn, "dsn", dsn, "PostgreSQL DSN (default $CHAT_DATABASE_URL); empty uses SQLite")
	fs.StringVar(&cfg.broker, "broker", "", "broker URL: memory, redis://HOST:PORT[/DB] or nats://HOST:PORT (empty: memory)")
	fs.StringVar(&cfg.node, "node", "", "this node's name, unique in the cluster (empty: host name and port)")
	fs.StringVar(&cfg.secret, "secret", "", "secret the nodes share to sign tokens and LongPoll sessions, 32 bytes or more (empty: -data/secret, created on first start)")
	fs.BoolVar(&cfg.h2c, "h2c", true, "also serve HTTP/2 without TLS (prior knowledge) to a proxy that speaks it; browsers use HTTP/1.1 or TLS")
	fs.DurationVar(&cfg.drainDelay, "drain-delay", 0, "after SIGTERM, serve this long unready (/readyz 503) before closing sockets")
	fs.StringVar(&cfg.dashboardPassword, "dashboard-password", "", "serve the live dashboard at /ops/ to user ops with this password (empty: no dashboard)")
	fs.BoolVar(&cfg.pprof, "pprof", false, "serve net/http/pprof and runtime figures under the dashboard, /ops/debug/pprof/ (needs -dashboard-password)")
	proxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of the proxies in front, whose X-Forwarded-For names the client for per-address limits (empty: the TCP peer is the client)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	jsonLogs := fs.Bool("log-json", false, "log JSON lines instead of text")
	set, err := flagenv.Parse(fs, args, "SUZAKU_", lookup)
	if err != nil {
		return cfg, nil, err
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return cfg, nil, set.Invalid("addr", err)
	}
	if cfg.pprof && cfg.dashboardPassword == "" {
		return cfg, nil, set.Invalid("pprof", errors.New("profiling is served behind the dashboard's protection: set -dashboard-password"))
	}
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return cfg, nil, set.Invalid("trusted-proxies", fmt.Errorf("%q is neither an address nor a CIDR prefix", p))
			}
		}
		cfg.trustedProxies = append(cfg.trustedProxies, p)
	}
	if cfg.drainDelay < 0 {
		return cfg, nil, set.Invalid("drain-delay", errors.New("negative"))
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return cfg, nil, set.Invalid("log-level", errors.New("want debug, info, warn or error"))
	}
	set.Print(out)
	hopts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, hopts)
	if *jsonLogs {
		h = slog.NewJSONHandler(os.Stderr, hopts)
	}
	return cfg, slog.New(h), nil
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
