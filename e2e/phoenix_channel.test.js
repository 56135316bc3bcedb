// The official phoenix client (1.8.16) against examples/conformance: joins and
// every handle_in event of the room:* channel (examples/conformance/README.md), each over
// WebSocket and over LongPoll.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, join, joinOk, push, pushOk, outcome, record, waitEvent, Recorder, assertAlive, TRANSPORTS,
} from "./harness.js"

const room = () => `room:${uid("chan")}`

// joinTracked joins ch and records every ok/error answer of its join push,
// including the ones of later rejoins.
function joinTracked(ch) {
  const oks = new Recorder(`join oks of ${ch.topic}`)
  const errors = new Recorder(`join errors of ${ch.topic}`)
  ch.join().receive("ok", (r) => oks.push(r)).receive("error", (r) => errors.push(r))
  return { oks, errors }
}

// One app serves every suite of this file.
const h = useApp({ before, after }, "phoenix_channel")

for (const tr of TRANSPORTS) describe(`phoenix channel: joins [${tr.name}]`, () => {
  test("join ok replies {topic, user}", async (t) => {
    const s = session(t, h.app, tr)
    const user = uid("bob")
    const sock = await s.connected(user)
    const topic = room()
    assert.deepEqual(await joinOk(sock.channel(topic, { status: "away" })), { topic, user })
  })

  test("join room:private as a non-admin is refused with unauthorized", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("admin")) // starts with admin but is not admin
    const ch = sock.channel("room:private")
    assert.deepEqual(await join(ch), { status: "error", response: { reason: "unauthorized" } })
    ch.leave()
  })

  test("join room:private as admin is ok", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected("admin")
    assert.deepEqual(await joinOk(sock.channel("room:private")), { topic: "room:private", user: "admin" })
  })

  test("join with fail:true is refused with join failed", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("f"))
    const ch = sock.channel(room(), { fail: true })
    assert.deepEqual(await join(ch), { status: "error", response: { reason: "join failed" } })
    ch.leave()
  })

  test("a crash in join answers join crashed and the connection's other channels keep working", async (t) => {
    const s = session(t, h.app, tr)
    const user = uid("c")
    const sock = await s.connected(user)
    const good = sock.channel(room())
    await joinOk(good)
    const goodErrors = record(good, "phx_error")

    const bad = sock.channel(room(), { crash: true })
    assert.deepEqual(await join(bad), { status: "error", response: { reason: "join crashed" } })
    bad.leave()

    assert.deepEqual(await pushOk(good, "echo", { still: "alive" }), { still: "alive" })
    const topic = room()
    assert.deepEqual(await joinOk(sock.channel(topic)), { topic, user })
    assert.equal(goodErrors.items.length, 0, "the other channel errored")
    assert.equal(sock.closes.items.length, 0, "the socket closed")
    assert.equal(sock.opens.items.length, 1, "the socket reconnected")
  })

  for (const topic of ["nosuch:topic", "rooms:lobby", "bench"]) {
    test(`join of an unmatched topic (${topic}) is refused with unmatched topic`, async (t) => {
      const s = session(t, h.app, tr)
      const sock = await s.connected(uid("u"))
      const ch = sock.channel(topic)
      assert.deepEqual(await join(ch), { status: "error", response: { reason: "unmatched topic" } })
      ch.leave()
    })
  }

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})

for (const tr of TRANSPORTS) describe(`phoenix channel: handle_in [${tr.name}]`, () => {
  // pair connects two users and joins both to one fresh topic.
  async function pair(t) {
    const s = session(t, h.app, tr)
    const topic = room()
    const ua = uid("a"), ub = uid("b")
    const a = await s.connected(ua)
    const b = await s.connected(ub)
    const ca = a.channel(topic), cb = b.channel(topic)
    await joinOk(ca)
    await joinOk(cb)
    return { s, topic, ua, ub, a, b, ca, cb }
  }

  test("new_msg is broadcast to every subscriber, sender included, and replied to", async (t) => {
    const { ua, ca, cb } = await pair(t)
    const gotA = waitEvent(ca, "new_msg", (p) => p.body === "hello")
    const gotB = waitEvent(cb, "new_msg", (p) => p.body === "hello")
    assert.deepEqual(await pushOk(ca, "new_msg", { body: "hello" }), { body: "hello" })
    assert.deepEqual(await gotA, { user: ua, body: "hello" })
    assert.deepEqual(await gotB, { user: ua, body: "hello" })
  })

  test("shout_others reaches the other subscriber but not the sender", async (t) => {
    const { ua, ca, cb } = await pair(t)
    const shoutsA = record(ca, "shout")
    const shoutsB = record(cb, "shout")
    const markerA = waitEvent(ca, "new_msg", (p) => p.body === "marker")
    const markerB = waitEvent(cb, "new_msg", (p) => p.body === "marker")

    assert.deepEqual(await pushOk(ca, "shout_others", { body: "psst" }), {})
    // The marker is broadcast after the shout on the same topic, so once it
    // arrived, a shout to the sender would have arrived before it.
    await pushOk(ca, "new_msg", { body: "marker" })
    await markerB
    await markerA
    assert.deepEqual(shoutsB.items, [{ user: ua, body: "psst" }])
    assert.deepEqual(shoutsA.items, [], "the sender received its own shout")
  })

  test("echo replies with the same payload", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("e"))
    const ch = sock.channel(room())
    await joinOk(ch)
    const payload = { s: "héllo ✓ 😀", n: 1.5, i: -7, b: true, z: null, list: [1, "two", { three: 3 }], nested: { deep: { x: [] } } }
    assert.deepEqual(await pushOk(ch, "echo", payload), payload)
    assert.deepEqual(await pushOk(ch, "echo", {}), {})
  })

  test("error_reply replies error {reason: requested}", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("er"))
    const ch = sock.channel(room())
    await joinOk(ch)
    assert.deepEqual(await push(ch, "error_reply", { any: 1 }), { status: "error", response: { reason: "requested" } })
  })

  test("no_reply never replies: the push times out and the channel keeps working", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("nr"))
    const ch = sock.channel(room())
    await joinOk(ch)
    assert.deepEqual(await push(ch, "no_reply", {}, 300), { status: "timeout", response: {} })
    assert.deepEqual(await pushOk(ch, "echo", { after: "no_reply" }), { after: "no_reply" })
  })

  test("count counts this join's events and restarts after a rejoin", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("cnt"))
    const topic = room()
    const ch = sock.channel(topic)
    await joinOk(ch)
    assert.deepEqual(await pushOk(ch, "count"), { n: 1 })
    assert.deepEqual(await pushOk(ch, "count"), { n: 2 })
    await pushOk(ch, "echo", {})
    assert.deepEqual(await pushOk(ch, "count"), { n: 4 }, "echo is an event the channel handled")

    // Leave and join the topic again: a new join, a new count.
    await new Promise((resolve) => ch.leave().receive("ok", resolve))
    const again = sock.channel(topic)
    await joinOk(again)
    assert.deepEqual(await pushOk(again, "count"), { n: 1 })
  })

  test("count is per join, not per topic or per user", async (t) => {
    const { ca, cb } = await pair(t)
    assert.deepEqual(await pushOk(ca, "count"), { n: 1 })
    assert.deepEqual(await pushOk(ca, "count"), { n: 2 })
    assert.deepEqual(await pushOk(cb, "count"), { n: 1 })
  })

  test("a slow event and the fast events after it are replied to in order", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("slow"))
    const ch = sock.channel(room())
    await joinOk(ch)
    // The order is recorded in the client's own callbacks, synchronously.
    const order = []
    const track = (p, name) => { p.receive("ok", () => order.push(name)); return outcome(p) }
    const slow = track(ch.push("slow", { ms: 300 }), "slow")
    const fast1 = track(ch.push("echo", { i: 1 }), "echo1")
    const fast2 = track(ch.push("count", {}), "count")
    assert.deepEqual(await slow, { status: "ok", response: { slept: 300 } })
    assert.deepEqual(await fast1, { status: "ok", response: { i: 1 } })
    assert.deepEqual(await fast2, { status: "ok", response: { n: 3 } })
    assert.deepEqual(order, ["slow", "echo1", "count"])
  })

  test("push_me pushes the event to this client, then replies ok {}", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("pm"))
    const ch = sock.channel(room())
    await joinOk(ch)
    // The order is recorded in the client's own callbacks, synchronously.
    const order = []
    const pushes = record(ch, "custom_event")
    ch.on("custom_event", () => order.push("push"))
    const p = ch.push("push_me", { event: "custom_event", payload: { x: 1, y: ["z"] } })
    p.receive("ok", () => order.push("reply"))
    assert.deepEqual(await outcome(p), { status: "ok", response: {} })
    await pushes.waitCount(1)
    assert.deepEqual(pushes.items, [{ x: 1, y: ["z"] }])
    assert.deepEqual(order, ["push", "reply"])
  })

  test("stop replies ok {}, then the channel closes and does not rejoin", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("stop"))
    const ch = sock.channel(room())
    const { oks } = joinTracked(ch)
    await oks.waitCount(1)
    const closes = record(ch, "phx_close")
    const errors = record(ch, "phx_error")
    assert.deepEqual(await pushOk(ch, "stop"), {})
    await closes.waitCount(1, { what: "phx_close after stop" })
    assert.equal(ch.state, "closed")
    assert.equal(sock.channels.includes(ch), false, "the closed channel is still on the socket")
    // The socket still works, and the stopped channel did not error or rejoin.
    await new Promise((resolve) => sock.ping(resolve))
    assert.equal(errors.items.length, 0, "the channel got phx_error instead of phx_close")
    assert.equal(oks.items.length, 1, "the channel rejoined")
    assert.equal(sock.sent.items.filter((m) => m.topic === ch.topic && m.event === "phx_join").length, 1)
  })

  test("tick_ms makes the channel push ticks n = 1, 2, 3", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("tick"))
    const ch = sock.channel(room(), { tick_ms: 20 })
    const ticks = record(ch, "tick")
    await joinOk(ch)
    const got = await ticks.waitCount(3, { what: "3 ticks" })
    assert.deepEqual(got.slice(0, 3), [{ n: 1 }, { n: 2 }, { n: 3 }])
  })

  test("crash errors the channel, which rejoins by itself with a fresh state", async (t) => {
    const s = session(t, h.app, tr)
    const user = uid("crash")
    const sock = await s.connected(user)
    const topic = room()
    const ch = sock.channel(topic)
    const { oks } = joinTracked(ch)
    await oks.waitCount(1)
    const other = sock.channel(room())
    await joinOk(other)
    const otherErrors = record(other, "phx_error")

    assert.deepEqual(await pushOk(ch, "count"), { n: 1 })
    assert.deepEqual(await pushOk(ch, "count"), { n: 2 })
    const errors = record(ch, "phx_error")
    ch.push("crash", {})
    await errors.waitCount(1, { what: "phx_error after crash" })
    const [, rejoined] = await oks.waitCount(2, { what: "the channel to rejoin by itself" })
    assert.deepEqual(rejoined, { topic, user })
    assert.deepEqual(await pushOk(ch, "count"), { n: 1 })

    assert.deepEqual(await pushOk(other, "echo", { ok: 1 }), { ok: 1 })
    assert.equal(otherErrors.items.length, 0, "another channel of the connection errored")
    assert.equal(sock.closes.items.length, 0, "the connection closed")
  })

  test("a crash does not affect other connections on the same topic", async (t) => {
    const { ca, cb } = await pair(t)
    const errorsB = record(cb, "phx_error")
    const errorsA = record(ca, "phx_error")
    ca.push("crash", {})
    await errorsA.waitCount(1)
    assert.deepEqual(await pushOk(cb, "echo", { b: 1 }), { b: 1 })
    assert.equal(errorsB.items.length, 0)
  })

  if (tr.name === "websocket") {
    test("a binary echo comes back as the same bytes in an ArrayBuffer", async (t) => {
      const s = session(t, h.app, tr)
      const sock = await s.connected(uid("bin"))
      const ch = sock.channel(room())
      await joinOk(ch)
      const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255, 0x7b, 0x22])
      const r = await push(ch, "echo", bytes.buffer.slice(0))
      assert.equal(r.status, "ok")
      assert.ok(r.response instanceof ArrayBuffer, `response is ${Object.prototype.toString.call(r.response)}, want ArrayBuffer`)
      assert.deepEqual([...new Uint8Array(r.response)], [...bytes])
      // JSON still works on the same channel afterwards.
      assert.deepEqual(await pushOk(ch, "echo", { json: true }), { json: true })
    })
  } else {
    // LongPoll carries server→client text frames only (PROTOCOL §2.3): the
    // client's binary push travels as a base64 ndjson line and reaches the
    // channel, but the binary reply cannot be sent: the client gets an
    // error reply saying so instead.
    test("a binary echo reaches the channel, gets an error reply instead of bytes, and the session goes on", async (t) => {
      const s = session(t, h.app, tr)
      const sock = await s.connected(uid("bin"))
      const ch = sock.channel(room())
      await joinOk(ch)
      const bytes = new Uint8Array([0, 1, 2, 127, 128, 254, 255, 0x7b, 0x22])
      const echo = ch.push("echo", bytes.buffer.slice(0), 1500)
      const echoOutcome = outcome(echo)
      // count is handled after the echo on the same channel, and replies of one
      // channel come in order: once count's reply is here, an echo reply would be too.
      assert.deepEqual(await pushOk(ch, "count"), { n: 2 }, "the binary push was not handled by the channel")
      const sentBinary = sock.sent.items.find((m) => m.ref === echo.ref)
      assert.ok(sentBinary && sentBinary.payload instanceof ArrayBuffer, "the client did not send the echo as binary")
      assert.deepEqual(await echoOutcome, { status: "error", response: { reason: "binary replies are not supported on this transport" } })
      assert.deepEqual(await pushOk(ch, "echo", { json: true }), { json: true })
      assert.deepEqual(await pushOk(ch, "count"), { n: 4 })
      assert.equal(sock.closes.items.length, 0, "the LongPoll session was lost")
    })
  }

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})
