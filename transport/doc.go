// Package transport carries Phoenix Channels over HTTP: the WebSocket
// endpoint ([WebSocket]) with the frame-level rules of RFC 6455, and the
// LongPoll endpoint ([LongPoll]) that phoenix.js falls back to. Both are
// http.Handlers, mounted at "{prefix}/websocket" and "{prefix}/longpoll".
//
// # Handshake
//
// [WebSocket.ServeHTTP] checks, in Phoenix's order: the method and Upgrade
// header (400), the Origin (403; see [WebSocketConfig].AllowedOrigins), the
// vsn parameter (403 for a version no serializer speaks), phoenix.js's
// authToken subprotocol (answered with "phoenix"), and the socket's Connect
// callback (403, or the status its error names). Then it upgrades.
//
// # Frames
//
// Client frames must be masked, carry no reserved bits or opcodes, keep
// control frames final and at most 125 bytes, send text as valid UTF-8 and
// stay under [WebSocketConfig].MaxMessageSize across fragments. A violation
// closes that connection with the RFC 6455 code (1002, 1007, 1009); a
// frame that does not decode as a Phoenix message closes it with 1007.
// Nothing a client sends can hang the connection or reach another one.
//
// # Writes
//
// Frames to a client go through a bounded queue, written by a goroutine
// that exists only while the queue is non-empty, several frames per
// writev. A client that lets more than [WebSocketConfig].WriteQueueLimit
// bytes pile up is disconnected with 1013 and costs the others nothing.
//
// # Event loop
//
// On Linux, idle WebSocket connections are read by an epoll loop (one
// poller per CPU, one read buffer per poller) rather than a goroutine
// each; a frame parser keeps only what an incomplete frame needs. TLS
// connections and other platforms use a reader goroutine per connection
// ([WebSocketConfig].DisableEventLoop forces it).
//
// # LongPoll
//
// [LongPoll] follows Phoenix 1.8 (docs/protocol.md §5): every answer is HTTP 200
// with the logical status in a JSON body; a GET without a valid session
// token opens a session (410 and a signed token); polls are held up to
// [LongPollConfig].Window; POSTs carry ndjson batches of up to 100 frames
// (base64 lines are binary frames); a session without polls for
// [LongPollConfig].SessionTimeout ends with its channels. Binary frames are
// never sent to a LongPoll client. Several nodes need a shared
// [LongPollConfig].Secret and no sticky routing: a node forwards a request
// to the node that holds its session over the broker (see [LongPoll]).
//
// # Close codes
//
// The server never closes with 1000 when it wants the client back:
// disconnect-by-id and idle timeouts use 1001, shutdown 1012, slow clients
// 1013. phoenix.js before 1.8.16 does not reconnect after 1000.
package transport
