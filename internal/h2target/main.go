// Command h2target serves a small handler for h2spec, either through
// suzaku.Server or through a bare net/http.Server with the same protocols,
// so that scripts/h2spec.sh can report suzaku's counts next to net/http's.
//
//	go run ./internal/h2target -mode suzaku -tls -addr 127.0.0.1:8443
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
)

func main() {
	mode := flag.String("mode", "suzaku", "suzaku or nethttp")
	useTLS := flag.Bool("tls", false, "serve HTTPS (HTTP/2 by ALPN) with a development certificate")
	addr := flag.String("addr", "127.0.0.1:0", "address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *mode, *useTLS, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "h2target:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, useTLS bool, addr string) error {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		io.WriteString(w, "hello\n")
	})
	var tlsCfg *tls.Config
	if useTLS {
		cert, err := suzaku.DevCertificate()
		if err != nil {
			return err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	switch mode {
	case "suzaku":
		socket, err := channel.NewSocket(channel.Config{})
		if err != nil {
			return err
		}
		srv, err := suzaku.New(suzaku.Config{Handler: handler, Socket: socket, TLS: tlsCfg, H2C: !useTLS})
		if err != nil {
			return err
		}
		return srv.Serve(ctx, ln)
	case "nethttp":
		srv := &http.Server{Handler: handler, Protocols: new(http.Protocols), TLSConfig: tlsCfg}
		srv.Protocols.SetHTTP1(true)
		if useTLS {
			srv.Protocols.SetHTTP2(true)
		} else {
			srv.Protocols.SetUnencryptedHTTP2(true)
		}
		go func() { <-ctx.Done(); srv.Close() }()
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err == http.ErrServerClosed {
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown mode %q", mode)
}
