// The official phoenix client (1.8.16) against examples/conformance: the HTTP
// broadcast API, outgoing interception of `secret`, and the bench:* channel,
// each over WebSocket and over LongPoll, and broadcasts across transports.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, join, joinOk, push, pushOk, outcome, record, waitEvent, postJSON, broadcast, assertAlive,
  TRANSPORTS, WEBSOCKET, LONGPOLL,
} from "./harness.js"

// One app serves every suite of this file.
const h = useApp({ before, after }, "phoenix_broadcast")

describe("http api", () => {
  test("GET /api/health answers 200 {ok:true,node:NAME}", async () => {
    const res = await fetch(`${h.app.httpURL}/api/health`)
    assert.equal(res.status, 200)
    const body = await res.json()
    assert.equal(body.ok, true)
    assert.equal(typeof body.node, "string")
    assert.ok(body.node.length > 0, "node is named")
    assert.deepEqual(Object.keys(body).sort(), ["node", "ok"])
  })

  test("POST /api/broadcast to a topic nobody joined answers 200 {ok:true}", async () => {
    const res = await postJSON(h.app, "/api/broadcast", { topic: `room:${uid("empty")}`, event: "x", payload: {} })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { ok: true })
  })

  for (const [name, body] of [
    ["a body that is not JSON", "this is not json"],
    ["an empty body", ""],
    ["a JSON array", "[]"],
    ["a JSON string", "\"room:x\""],
    ["no topic", JSON.stringify({ event: "e", payload: {} })],
    ["no event", JSON.stringify({ topic: "room:x", payload: {} })],
    ["a topic that is not a string", JSON.stringify({ topic: 7, event: "e", payload: {} })],
    ["an event that is not a string", JSON.stringify({ topic: "room:x", event: ["e"], payload: {} })],
  ]) {
    test(`POST /api/broadcast with ${name} answers 400 with a JSON error`, async () => {
      const res = await postJSON(h.app, "/api/broadcast", body)
      assert.equal(res.status, 400, `body ${JSON.stringify(body)}: got ${res.status} ${res.text}`)
      assert.equal(typeof res.body, "object", `the 400 body is not JSON: ${res.text}`)
      assert.notEqual(res.body, null)
    })
  }
})

for (const tr of TRANSPORTS) describe(`phoenix broadcast [${tr.name}]`, () => {
  test("POST /api/broadcast reaches every subscriber of the topic and only them", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `room:${uid("bc")}`
    const otherTopic = `room:${uid("bc-other")}`
    const a = await s.connected(uid("a"))
    const b = await s.connected(uid("b"))
    const ca = a.channel(topic), cb = b.channel(topic), co = b.channel(otherTopic)
    await joinOk(ca)
    await joinOk(cb)
    await joinOk(co)
    const strayOther = record(co, "announce")

    const payload = { text: "hi all", n: 3, list: [1, 2], nested: { ok: true } }
    const gotA = waitEvent(ca, "announce")
    const gotB = waitEvent(cb, "announce")
    const res = await postJSON(h.app, "/api/broadcast", { topic, event: "announce", payload })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { ok: true })
    assert.deepEqual(await gotA, payload)
    assert.deepEqual(await gotB, payload)

    // A marker on the other topic proves nothing of the first leaked there.
    const marker = waitEvent(co, "marker")
    await broadcast(h.app, otherTopic, "marker", { m: 1 })
    await marker
    assert.deepEqual(strayOther.items, [])
  })

  test("secret broadcasts reach only users whose name starts with admin", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `room:${uid("secret")}`
    const users = {
      admin: `admin-${uid("x")}`,
      plain: uid("plain"),
      suffix: `${uid("not")}-admin`,
    }
    const chans = {}
    for (const [k, user] of Object.entries(users)) {
      const sock = await s.connected(user)
      const ch = sock.channel(topic)
      await joinOk(ch)
      const events = []
      ch.on("secret", (p) => events.push(["secret", p]))
      ch.on("public", (p) => events.push(["public", p]))
      chans[k] = { ch, events, marker: waitEvent(ch, "public", (p) => p.marker === true) }
    }

    await broadcast(h.app, topic, "secret", { code: 42 })
    await broadcast(h.app, topic, "public", { marker: true })
    for (const k of Object.keys(chans)) await chans[k].marker

    assert.deepEqual(chans.admin.events, [["secret", { code: 42 }], ["public", { marker: true }]])
    assert.deepEqual(chans.plain.events, [["public", { marker: true }]], "a non-admin received secret")
    assert.deepEqual(chans.suffix.events, [["public", { marker: true }]], "a user ending in admin received secret")
  })

  test("the admin user itself receives secret broadcasts", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `room:${uid("secret-admin")}`
    const sock = await s.connected("admin")
    const ch = sock.channel(topic)
    await joinOk(ch)
    const got = waitEvent(ch, "secret")
    await broadcast(h.app, topic, "secret", { for: "admin" })
    assert.deepEqual(await got, { for: "admin" })
  })

  test("bench:* joins with an empty ok reply whatever the payload", async (t) => {
    const s = session(t, h.app, tr)
    const sock = await s.connected(uid("bench"))
    assert.deepEqual(await joinOk(sock.channel(`bench:${uid("b")}`)), {})
    assert.deepEqual(await join(sock.channel(`bench:${uid("b")}`, { fail: true, crash: true })), { status: "ok", response: {} })
  })

  test("bench:* answers echo and broadcasts new_msg to every subscriber", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `bench:${uid("b")}`
    const ua = uid("ba")
    const a = await s.connected(ua)
    const b = await s.connected(uid("bb"))
    const ca = a.channel(topic), cb = b.channel(topic)
    await joinOk(ca)
    await joinOk(cb)
    assert.deepEqual(await pushOk(ca, "echo", { e: [1, 2] }), { e: [1, 2] })
    const gotA = waitEvent(ca, "new_msg")
    const gotB = waitEvent(cb, "new_msg")
    assert.deepEqual(await pushOk(ca, "new_msg", { body: "bench hi" }), { body: "bench hi" })
    assert.deepEqual(await gotA, { user: ua, body: "bench hi" })
    assert.deepEqual(await gotB, { user: ua, body: "bench hi" })

    const api = waitEvent(cb, "load", (p) => p.i === 9)
    await broadcast(h.app, topic, "load", { i: 9 })
    assert.deepEqual(await api, { i: 9 })
  })

  test("bench:* does not intercept secret", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `bench:${uid("b")}`
    const sock = await s.connected(uid("plain"))
    const ch = sock.channel(topic)
    await joinOk(ch)
    const got = waitEvent(ch, "secret")
    await broadcast(h.app, topic, "secret", { s: 1 })
    assert.deepEqual(await got, { s: 1 })
  })

  if (tr.name === "websocket") {
    test("a binary echo works on bench:*", async (t) => {
      const s = session(t, h.app, tr)
      const sock = await s.connected(uid("bb"))
      const ch = sock.channel(`bench:${uid("b")}`)
      await joinOk(ch)
      const r = await push(ch, "echo", new Uint8Array([9, 8, 7]).buffer)
      assert.equal(r.status, "ok")
      assert.ok(r.response instanceof ArrayBuffer)
      assert.deepEqual([...new Uint8Array(r.response)], [9, 8, 7])
    })
  } else {
    test("a binary echo on bench:* gets an error reply over LongPoll (it cannot carry binary replies) and JSON goes on", async (t) => {
      const s = session(t, h.app, tr)
      const sock = await s.connected(uid("bb"))
      const ch = sock.channel(`bench:${uid("b")}`)
      await joinOk(ch)
      const bin = ch.push("echo", new Uint8Array([9, 8, 7]).buffer, 1500)
      const binOutcome = outcome(bin)
      // Replies of one channel come in order: the JSON echo's reply comes after
      // any reply to the binary one.
      assert.deepEqual(await pushOk(ch, "echo", { after: "binary" }), { after: "binary" })
      assert.deepEqual(await binOutcome, { status: "error", response: { reason: "binary replies are not supported on this transport" } })
      assert.equal(sock.closes.items.length, 0, "the LongPoll session was lost")
    })
  }

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})

describe("phoenix broadcast across transports", () => {
  for (const [from, to] of [[WEBSOCKET, LONGPOLL], [LONGPOLL, WEBSOCKET]]) {
    test(`new_msg, shout_others and /api/broadcast flow from a ${from.name} client to a ${to.name} client`, async (t) => {
      const s = session(t, h.app)
      const topic = `room:${uid("x")}`
      const ua = uid("from"), ub = uid("to")
      const a = await s.connected(ua, { transport: from.transport })
      const b = await s.connected(ub, { transport: to.transport })
      const ca = a.channel(topic), cb = b.channel(topic)
      await joinOk(ca)
      await joinOk(cb)
      const gotB = waitEvent(cb, "new_msg", (p) => p.body === "across")
      assert.deepEqual(await pushOk(ca, "new_msg", { body: "across" }), { body: "across" })
      assert.deepEqual(await gotB, { user: ua, body: "across" })
      const shoutA = waitEvent(ca, "shout")
      assert.deepEqual(await pushOk(cb, "shout_others", { body: "back" }), {})
      assert.deepEqual(await shoutA, { user: ub, body: "back" })
      const apiA = waitEvent(ca, "announce"), apiB = waitEvent(cb, "announce")
      await broadcast(h.app, topic, "announce", { to: "both" })
      assert.deepEqual(await apiA, { to: "both" })
      assert.deepEqual(await apiB, { to: "both" })
    })
  }

  test("the app is still healthy after this file", async () => {
    await assertAlive(h.app)
  })
})
