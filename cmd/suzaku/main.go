// Command suzaku is the framework's command-line tool. Its verbs:
//
//	suzaku new [-no-spa] [-broker] [-module PATH] DIR   generate a ready project in DIR
//	suzaku version                                     print the framework version
//
// Run from a checkout of suzaku (go run ./cmd/suzaku new DIR), the
// generated go.mod has a replace directive to that checkout, so the
// project builds offline against the working tree. A released build
// (go run github.com/suzaku-go/suzaku/cmd/suzaku@vX.Y.Z) requires its own
// version instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `suzaku: the suzaku framework's command-line tool

usage:
  suzaku new [-no-spa] [-broker] [-module PATH] DIR
        generate a ready project (Go server, accounts, a channel with
        presence, SQLite or PostgreSQL, a Vite + TypeScript SPA, tests)
  suzaku version
        print the framework version this tool generates for

Run "suzaku new -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "suzaku:", err)
		}
		os.Exit(2)
	}
}

// run dispatches a verb.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "new":
		return runNew(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, buildVersion())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown verb %q", args[0])
}
