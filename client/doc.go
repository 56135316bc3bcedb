// Package client is a Go client for Phoenix Channels over WebSocket, for
// tests, load tools and Go services. It speaks the protocol the phoenix npm
// client 1.8 speaks (vsn 2.0.0: JSON arrays in text frames, binary
// payloads in binary frames) and mirrors that client's behaviour: refs,
// heartbeats, the channel state machine, rejoins and reconnects. It works
// with suzaku servers and with Phoenix itself.
//
// [Dial] opens a [Socket]; [Socket.Channel] gives a [Channel] for a topic,
// which is joined with [Channel.Join] and then stays joined until
// [Channel.Leave]:
//
//	sock, err := client.Dial(ctx, "ws://localhost:4000/socket/websocket",
//		&client.Config{Params: url.Values{"token": {tok}}, Reconnect: true})
//	…
//	defer sock.Close()
//	room := sock.Channel("room:lobby", map[string]any{"user": "u1"})
//	room.On("new_msg", func(m client.Message) { … }) // must not block
//	if _, err := room.Join(ctx); err != nil { … }
//	reply, err := room.Push(ctx, "new_msg", map[string]string{"body": "hi"})
//
// # Refs and stale messages
//
// One counter per socket gives every ref, as in phoenix.js. Each frame of a
// channel carries join_ref, the ref of the channel's current join attempt.
// Replies are matched to pushes by ref. A message whose join_ref is not
// null and not the channel's current one belongs to an earlier join and is
// dropped, so a late reply or push from before a rejoin never reaches the
// new join.
//
// # Heartbeats, reconnects and rejoins
//
// The socket sends a heartbeat [Config.HeartbeatInterval] after the
// connection opens and after each reply; a heartbeat unanswered for an
// interval closes the connection. With [Config.Reconnect], a connection
// lost for any reason other than [Socket.Close] is reopened with
// [Config.ReconnectBackoff], and the channels that were joined rejoin at
// once on the new connection, with new join refs. A channel that crashes on
// the server (phx_error), or whose join fails or times out, rejoins with
// [Config.RejoinBackoff]; one closed by the server (phx_close) does not.
//
// # Goroutines and cost
//
// A connected Socket runs one goroutine, its reader, which also calls the
// channel handlers ([Channel.On], [Channel.OnError], [Channel.OnClose]) in
// the order the messages arrived; handlers must not block. Heartbeats,
// timeouts and backoffs are runtime timers, which hold no goroutine while
// they wait. Calls that wait for a reply ([Channel.Join], [Channel.Push],
// [Socket.Ping]) wait on the caller's goroutine. [Socket.Close] closes the
// connection with code 1000 and returns once the reader has exited.
//
// # Errors
//
// A join refused by the server is a *[JoinError] holding the server's
// response. Timeouts wrap context.DeadlineExceeded. The other failures
// wrap the sentinels such as [ErrClosed], [ErrNotJoined] and
// [ErrConnectionLost]; [CloseStatus] and [HandshakeStatus] read the
// WebSocket close code and the HTTP status of a refused upgrade.
package client
