// Package suzaku composes a realtime single-page-app backend: Phoenix
// Channels over WebSocket, the application's JSON API and its static files,
// in one [Server], with long-lived services under supervision.
//
// The parts live in their own packages and are usable alone: wire (the
// message envelope and its serializers), pubsub (the broker), channel
// (sockets, routing and channel processes), transport (WebSocket) and
// client (a Go client). See docs/architecture.md for how they fit.
//
// # Lifecycle
//
// [New] validates a [Config] and starts nothing. [Server.Serve] (or
// [Server.Run], which listens first) serves until its context is done, then
// drains: HTTP requests finish, sockets are closed with 1012 so that
// clients reconnect, supervised services stop.
package suzaku
