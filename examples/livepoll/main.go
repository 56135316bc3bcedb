// Command livepoll is the app of docs/getting-started.md: accounts, polls over a JSON
// API with ETags, and a "poll:ID" channel with live tallies and presence. Nodes that
// share a broker, a database and a -secret make one app (-broker redis://127.0.0.1:6379).
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/cache/httpcache"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/health"
	"github.com/suzaku-go/suzaku/token"
	_ "modernc.org/sqlite" // driver "sqlite"
)

type config struct{ addr, data, broker, node, secret string }

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "localhost:4000", "address to listen on")
	flag.StringVar(&cfg.data, "data", "livepoll-data", "directory of the SQLite database")
	flag.StringVar(&cfg.broker, "broker", "memory", "broker URL: memory, redis://HOST:PORT or nats://HOST:PORT")
	flag.StringVar(&cfg.node, "node", "", "this node's unique name (default: host name and port)")
	flag.StringVar(&cfg.secret, "secret", os.Getenv("LIVEPOLL_SECRET"), "token secret, the same on every node (default $LIVEPOLL_SECRET, else random)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a, err := newApp(cfg, log)
	if err == nil {
		defer a.Close()
		log.Info("listening", "addr", cfg.addr)
		err = a.Run(ctx)
	}
	if err != nil {
		log.Error("livepoll", "err", err)
		os.Exit(1)
	}
}

type app struct {
	*suzaku.Server
	db      *sql.DB
	cluster *cluster.Cluster // the broker and presence, for one node or several
	tokens  *auth.Signed
	polls   *cache.Memory // polls with their tally, tagged "poll:ID"
}

const schema = `
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS polls (id INTEGER PRIMARY KEY AUTOINCREMENT, question TEXT NOT NULL, options TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (poll_id INTEGER NOT NULL, user_name TEXT NOT NULL, option INTEGER NOT NULL,
  PRIMARY KEY (poll_id, user_name))`

func newApp(cfg config, log *slog.Logger) (*app, error) {
	if cfg.secret == "" {
		cfg.secret = rand.Text() + rand.Text() // one node: tokens end with the process
	}
	signer, err := token.New(token.Config{Secret: []byte(cfg.secret), Salt: "user"})
	if err != nil {
		return nil, err
	}
	a := &app{}
	if a.tokens, err = auth.NewSigned(auth.SignedConfig{Signer: signer}); err != nil {
		return nil, err
	}
	if a.cluster, err = cluster.New(cluster.Config{Broker: cfg.broker, Node: cfg.node, Addr: cfg.addr, Logger: log}); err != nil {
		return nil, err
	}
	log = a.cluster.Logger() // every line names the node, once
	if err := os.MkdirAll(cfg.data, 0o755); err != nil {
		return nil, err
	}
	a.db, _ = sql.Open("sqlite", "file:"+filepath.Join(cfg.data, "livepoll.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	_, err = a.db.Exec(schema) // sql.Open only checks the driver's name; this connects
	sockCfg := a.socketConfig()
	sockCfg.Logger = log
	socket, err2 := channel.NewSocket(sockCfg)
	if err = errors.Join(err, err2); err == nil {
		a.polls, err = a.cluster.NewCache(cache.Config{Name: "polls"})
	}
	mw, _ := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: a.tokens, Logger: log})
	etags := httpcache.Middleware(httpcache.Config{Policy: httpcache.Policy{NoCache: true}})
	conf := &api.Config{Logger: log}
	mux := http.NewServeMux()
	mux.Handle("POST /api/signup", api.Handle(conf, a.signup))
	mux.Handle("POST /api/login", api.Handle(conf, a.login))
	mux.Handle("POST /api/polls", mw.Require(api.Handle(conf, a.createPoll)))
	mux.Handle("GET /api/polls/{id}", etags(api.Get(conf, a.getPoll)))
	probe := health.New(health.Config{Logger: log}) // GET /healthz, GET /readyz
	probe.Mount(mux)
	probe.Check("cluster", a.cluster)
	if err == nil {
		a.Server, err = suzaku.New(suzaku.Config{Addr: cfg.addr, Handler: mux, Socket: socket,
			Services: []suzaku.Service{a.cluster}, Logger: log})
	}
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	return a, nil
}

// socketConfig routes "poll:*"; sockets authenticate with the API's token.
func (a *app) socketConfig() channel.Config {
	router := &channel.Router{}
	_ = router.Handle("poll:*", func() channel.Handler { return &pollChannel{app: a} })
	return channel.Config{Router: router, Broker: a.cluster.Broker(), Connect: auth.SocketConnect(a.tokens), ID: auth.SocketID("users_socket")}
}

// Close stops the cluster's caches and closes the database.
func (a *app) Close() error { return errors.Join(a.cluster.Close(), a.db.Close()) }
