// Package rawbaseline is the measuring stick of suzaku's load tests: the
// least a server can do to speak enough of the Phoenix Channels V2 JSON
// protocol for cmd/suzaku-bench, so that a suzaku figure can be read as
// a multiple of what this box allows at all.
//
// It upgrades /socket/websocket with gobwas/ws on the connection net/http
// hijacked, then reads every connection from one epoll loop (no goroutine
// and no buffer per connection). It answers phx_join, phx_leave and
// heartbeats with an ok reply and keeps, per topic, the set of joined
// connections. POST /api/broadcast encodes one frame
// [null,null,topic,event,payload] and writes it to every subscriber
// socket with one write(2) each: no queue, no framework. The subscribers
// are split into GOMAXPROCS disjoint slices, each written by its own
// goroutine (the request's writes the first), since a tuned server uses
// every core for a large broadcast; [Config].Writers = 1 writes them all
// from the request's goroutine, the serial baseline. A socket that cannot take the whole frame at once (a
// client that does not read) is closed, since a partial frame cannot be
// finished without a queue.
//
// It is Linux only; elsewhere [New] returns an error. It is not a server
// to use for anything else: it checks nothing (no Origin, no params, no
// message size beyond its read buffer).
//
// # Use
//
//	srv, err := rawbaseline.New()
//	go srv.Serve(ctx)              // the epoll loop, until ctx is done
//	http.Serve(ln, srv)            // srv is an http.Handler
//
// or run it with `go run ./cmd/suzaku-bench rawserver -addr 127.0.0.1:4100`
// (add `-writers 1` for the serial baseline).
package rawbaseline
