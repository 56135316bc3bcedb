// Package channeltest tests channel handlers in-process, with no network:
// the role of Phoenix.ChannelTest.
//
// A [Harness] wraps a channel.Socket built from your channel.Config (with
// an in-memory broker unless you give one). [Harness.Connect] runs your
// Connect callback; the [Client] it returns joins topics, pushes events and
// asserts on what comes back:
//
//	h := channeltest.New(t, channel.Config{Router: router, Connect: connect})
//	c := h.Connect(map[string]string{"user": "ann"})
//	c.MustJoin("room:lobby", nil)
//	ref := c.Push("room:lobby", "new_msg", map[string]string{"body": "hi"})
//	c.AssertReply(ref, "ok", map[string]string{"body": "hi"})
//	h.AssertBroadcast("room:lobby", "new_msg", map[string]string{"user": "ann", "body": "hi"})
//
// [Harness.ConnectToken] connects as phoenix.js's authToken option does;
// [Harness.TryConnectInfo] sets any part of the connect request.
//
// # Assertions
//
// Payloads are compared as JSON: want is marshalled and compared with what
// was sent, so maps, structs and json.RawMessage all work; a
// channel.Binary compares bytes. Assertions wait up to [DefaultTimeout]
// (see [Harness.SetTimeout]) and fail with everything that was received.
// Each received frame satisfies one assertion at most, so two identical
// pushes need two AssertPush calls.
//
// # Helpers for application tests
//
// [Eventually] polls a condition instead of sleeping, and [Main], called
// from TestMain, fails a package whose tests leave goroutines behind.
// Both are here so that an application outside this module can use them.
package channeltest
