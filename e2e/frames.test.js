// Frame-level tests with a raw `ws` client: one test per row of the tables in
// docs/protocol.md §3, plus the serializers (§2), the upgrade (§1) and the
// connection-level behaviour of Appendix A. Frames are parsed and compared
// deeply (key order does not matter); presence_* frames are skipped.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, postJSON, broadcast, upgradeStatus, assertAlive,
  encodeBinaryPush, encodeBinaryReply, decodeBinary,
} from "./harness.js"

const room = () => `room:${uid("fr")}`
const bench = () => `bench:${uid("fr")}`
const ok = (response) => ({ response, status: "ok" })
const err = (response) => ({ response, status: "error" })

// canon renders a value as JSON with sorted object keys.
function canon(v) {
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`
  return JSON.stringify(v)
}

// assertEither asserts that the frames got equal the frames want, in any order.
function assertEither(got, want, msg) {
  const sort = (fs) => fs.slice().sort((a, b) => (canon(a) < canon(b) ? -1 : 1))
  assert.deepEqual(sort(got), sort(want), msg)
}

describe("frames: V2", () => {
  const h = useApp({ before, after }, "frames_v2")

  // client opens a raw V2 connection for a fresh (or the given) user.
  async function client(t, user = uid("raw")) {
    const s = session(t, h.app)
    const raw = await s.raw({ user, vsn: "2.0.0" })
    return { s, raw, user }
  }

  // joined joins topic with fresh refs, checks the ok reply and returns the join_ref.
  async function joined(raw, topic, user, payload = {}) {
    const j = uid("j")
    raw.send([j, j, topic, "phx_join", payload])
    const reply = await raw.next()
    const want = topic.startsWith("bench:") ? {} : { topic, user }
    assert.deepEqual(reply, [j, j, topic, "phx_reply", ok(want)])
    return j
  }

  test("heartbeat is answered on topic phoenix", async (t) => {
    const { raw } = await client(t)
    raw.send([null, "6", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "6", "phoenix", "phx_reply", ok({})])
    raw.send([null, "hb-x", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "hb-x", "phoenix", "phx_reply", ok({})])
  })

  test("join ok echoes join_ref and ref exactly", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = uid("jr"), r = uid("r")
    raw.send([j, r, topic, "phx_join", {}])
    assert.deepEqual(await raw.next(), [j, r, topic, "phx_reply", ok({ topic, user })])
  })

  test("join ok on room:private as admin", async (t) => {
    const { raw } = await client(t, "admin")
    raw.send(["3", "3", "room:private", "phx_join", {}])
    assert.deepEqual(await raw.next(), ["3", "3", "room:private", "phx_reply", ok({ topic: "room:private", user: "admin" })])
  })

  test("join error: room:private as a non-admin", async (t) => {
    const { raw } = await client(t)
    raw.send(["8", "8", "room:private", "phx_join", {}])
    assert.deepEqual(await raw.next(), ["8", "8", "room:private", "phx_reply", err({ reason: "unauthorized" })])
  })

  test("join error: fail", async (t) => {
    const { raw } = await client(t)
    const topic = room()
    raw.send(["4", "5", topic, "phx_join", { fail: true }])
    assert.deepEqual(await raw.next(), ["4", "5", topic, "phx_reply", err({ reason: "join failed" })])
    // The failed join left nothing joined: a push gets unmatched topic.
    raw.send(["4", "6", topic, "echo", {}])
    assert.deepEqual(await raw.next(), [null, "6", topic, "phx_reply", err({ reason: "unmatched topic" })])
  })

  test("join crashed, and the connection and its other channels keep working", async (t) => {
    const { raw, user } = await client(t)
    const good = room()
    const j = await joined(raw, good, user)
    const topic = room()
    raw.send(["9", "10", topic, "phx_join", { crash: true }])
    assert.deepEqual(await raw.next(), ["9", "10", topic, "phx_reply", err({ reason: "join crashed" })])
    raw.send([j, "11", good, "echo", { a: 1 }])
    assert.deepEqual(await raw.next(), [j, "11", good, "phx_reply", ok({ a: 1 })])
    raw.send([null, "12", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "12", "phoenix", "phx_reply", ok({})])
    // The topic can be joined properly afterwards.
    await joined(raw, topic, user)
  })

  for (const topic of ["nosuch:topic", "rooms:x", "room", "bench"]) {
    test(`join of unmatched topic ${JSON.stringify(topic)} replies with a null join_ref`, async (t) => {
      const { raw } = await client(t)
      raw.send(["9", "9", topic, "phx_join", {}])
      assert.deepEqual(await raw.next(), [null, "9", topic, "phx_reply", err({ reason: "unmatched topic" })])
    })
  }

  test("duplicate join: the new join's reply and phx_close of the old join", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j1 = await joined(raw, topic, user)
    const j2 = uid("j2")
    raw.send([j2, j2, topic, "phx_join", {}])
    const got = [await raw.next(), await raw.next()]
    assertEither(got, [
      [j2, j2, topic, "phx_reply", ok({ topic, user })],
      [j1, j1, topic, "phx_close", {}],
    ])
    // The new join is the current one, with its own state.
    raw.send([j2, "c1", topic, "count", {}])
    assert.deepEqual(await raw.next(), [j2, "c1", topic, "phx_reply", ok({ n: 1 })])
  })

  test("a push with a stale join_ref is dropped silently", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j1 = await joined(raw, topic, user)
    const j2 = uid("j2")
    raw.send([j2, j2, topic, "phx_join", {}])
    await raw.next()
    await raw.next()
    raw.send([j1, "stale-1", topic, "echo", { stale: true }])
    raw.send(["never-joined", "stale-2", topic, "echo", { stale: true }])
    raw.send([j2, "good", topic, "echo", { good: true }])
    assert.deepEqual(await raw.next(), [j2, "good", topic, "phx_reply", ok({ good: true })])
    // The stale pushes were not handled either: this is the channel's second event.
    raw.send([j2, "cnt", topic, "count", {}])
    assert.deepEqual(await raw.next(), [j2, "cnt", topic, "phx_reply", ok({ n: 2 })])
  })

  test("a push with a null join_ref reaches the joined channel and the reply carries its join_ref", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([null, "n1", topic, "echo", { x: 1 }])
    assert.deepEqual(await raw.next(), [j, "n1", topic, "phx_reply", ok({ x: 1 })])
  })

  test("extra elements after the payload of a V2 frame are ignored", async (t) => {
    // docs/protocol.md §2.1: [join_ref, ref, topic, event, payload | _] = JSON.
    const { raw, user } = await client(t)
    const topic = room()
    raw.send(["1", "1", topic, "phx_join", {}, "extra"])
    assert.deepEqual(await raw.next(), ["1", "1", topic, "phx_reply", ok({ topic, user })])
    raw.send(["1", "2", topic, "echo", { x: 1 }, null, 3])
    assert.deepEqual(await raw.next(), ["1", "2", topic, "phx_reply", ok({ x: 1 })])
  })

  test("a push to a topic not joined replies unmatched topic with a null join_ref", async (t) => {
    const { raw } = await client(t)
    const topic = room()
    raw.send(["10", "10", topic, "new_msg", { body: "not joined" }])
    assert.deepEqual(await raw.next(), [null, "10", topic, "phx_reply", err({ reason: "unmatched topic" })])
  })

  test("phx_leave of a joined topic: ok reply, then phx_close with join_ref as ref", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([j, "12", topic, "phx_leave", {}])
    assert.deepEqual(await raw.next(), [j, "12", topic, "phx_reply", ok({})])
    assert.deepEqual(await raw.next(), [j, j, topic, "phx_close", {}])
    raw.send([j, "13", topic, "echo", {}])
    assert.deepEqual(await raw.next(), [null, "13", topic, "phx_reply", err({ reason: "unmatched topic" })])
  })

  test("phx_leave with a null join_ref leaves the joined topic", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([null, "12", topic, "phx_leave", {}])
    assert.deepEqual(await raw.next(), [j, "12", topic, "phx_reply", ok({})])
    assert.deepEqual(await raw.next(), [j, j, topic, "phx_close", {}])
  })

  test("phx_leave with a stale join_ref is ignored", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send(["stale", "12", topic, "phx_leave", {}])
    raw.send([j, "13", topic, "echo", { still: "joined" }])
    assert.deepEqual(await raw.next(), [j, "13", topic, "phx_reply", ok({ still: "joined" })])
    raw.send([null, "14", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "14", "phoenix", "phx_reply", ok({})])
  })

  test("phx_leave of a topic not joined replies ok", async (t) => {
    const { raw } = await client(t)
    const topic = room()
    raw.send(["20", "21", topic, "phx_leave", {}])
    assert.deepEqual(await raw.next(), ["20", "21", topic, "phx_reply", ok({})])
  })

  test("echo replies [jref, ref, topic, phx_reply, {response: payload, status: ok}]", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([j, "e1", topic, "echo", { deep: { list: [1, { x: null }] }, s: "ü" }])
    assert.deepEqual(await raw.next(), [j, "e1", topic, "phx_reply", ok({ deep: { list: [1, { x: null }] }, s: "ü" })])
    raw.send([j, "e2", topic, "error_reply", {}])
    assert.deepEqual(await raw.next(), [j, "e2", topic, "phx_reply", err({ reason: "requested" })])
  })

  test("crash sends phx_error with ref = join_ref and reason channel_crash", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const other = room()
    const jo = await joined(raw, other, user)
    const j = await joined(raw, topic, user)
    raw.send([j, "15", topic, "crash", {}])
    assert.deepEqual(await raw.next(), [j, j, topic, "phx_error", { reason: "channel_crash" }])
    // The other channel is unaffected, and the topic can be joined again.
    raw.send([jo, "16", other, "echo", { o: 1 }])
    assert.deepEqual(await raw.next(), [jo, "16", other, "phx_reply", ok({ o: 1 })])
    const j2 = await joined(raw, topic, user)
    raw.send([j2, "17", topic, "count", {}])
    assert.deepEqual(await raw.next(), [j2, "17", topic, "phx_reply", ok({ n: 1 })])
  })

  test("stop replies ok, then phx_close with ref = join_ref", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([j, "13", topic, "stop", {}])
    assert.deepEqual(await raw.next(), [j, "13", topic, "phx_reply", ok({})])
    assert.deepEqual(await raw.next(), [j, j, topic, "phx_close", {}])
    raw.send([j, "14", topic, "echo", {}])
    assert.deepEqual(await raw.next(), [null, "14", topic, "phx_reply", err({ reason: "unmatched topic" })])
  })

  test("push_me sends [jref, null, topic, E, X], then the reply", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.send([j, "7", topic, "push_me", { event: "pushed", payload: { x: 1 } }])
    assert.deepEqual(await raw.next(), [j, null, topic, "pushed", { x: 1 }])
    assert.deepEqual(await raw.next(), [j, "7", topic, "phx_reply", ok({})])
  })

  test("tick pushes carry the join_ref", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = uid("j")
    raw.send([j, j, topic, "phx_join", { tick_ms: 10 }])
    assert.deepEqual(await raw.next(), [j, j, topic, "phx_reply", ok({ topic, user })])
    for (let n = 1; n <= 3; n++) assert.deepEqual(await raw.next(), [j, null, topic, "tick", { n }])
  })

  test("POST /api/broadcast arrives as [null, null, topic, event, payload]", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    await joined(raw, topic, user)
    await broadcast(h.app, topic, "bench", { n: 1 })
    assert.deepEqual(await raw.next(), [null, null, topic, "bench", { n: 1 }])
  })

  test("new_msg: the broadcast [null, null, ...] to everyone and the sender's reply", async (t) => {
    const a = await client(t)
    const b = await client(t)
    const topic = room()
    const ja = await joined(a.raw, topic, a.user)
    await joined(b.raw, topic, b.user)
    a.raw.send([ja, "4", topic, "new_msg", { body: "hello" }])
    const bc = [null, null, topic, "new_msg", { user: a.user, body: "hello" }]
    assertEither([await a.raw.next(), await a.raw.next()], [bc, [ja, "4", topic, "phx_reply", ok({ body: "hello" })]])
    assert.deepEqual(await b.raw.next(), bc)
  })

  test("shout_others: the others get [null, null, topic, shout, ...], the sender only its reply", async (t) => {
    const a = await client(t)
    const b = await client(t)
    const topic = room()
    const ja = await joined(a.raw, topic, a.user)
    await joined(b.raw, topic, b.user)
    a.raw.send([ja, "5", topic, "shout_others", { body: "psst" }])
    assert.deepEqual(await a.raw.next(), [ja, "5", topic, "phx_reply", ok({})])
    assert.deepEqual(await b.raw.next(), [null, null, topic, "shout", { user: a.user, body: "psst" }])
    // Nothing else reaches the sender before a later broadcast.
    await broadcast(h.app, topic, "marker", {})
    assert.deepEqual(await a.raw.next(), [null, null, topic, "marker", {}])
  })

  test("the 101st channel on one connection is refused with too many channels joined", async (t) => {
    const { raw } = await client(t)
    const topics = Array.from({ length: 100 }, () => bench())
    topics.forEach((topic, i) => raw.send([`j${i}`, `j${i}`, topic, "phx_join", {}]))
    // The order of these replies is checked by another test; here only the count matters.
    const replies = []
    for (let i = 0; i < 100; i++) replies.push(await raw.next())
    assertEither(replies, topics.map((topic, i) => [`j${i}`, `j${i}`, topic, "phx_reply", ok({})]))
    const extra = bench()
    raw.send(["j100", "j100", extra, "phx_join", {}])
    assert.deepEqual(await raw.next(), ["j100", "j100", extra, "phx_reply", err({ reason: "too many channels joined" })])
    // Leaving one makes room for one more.
    raw.send(["j0", "l0", topics[0], "phx_leave", {}])
    assert.deepEqual(await raw.next(), ["j0", "l0", topics[0], "phx_reply", ok({})])
    assert.deepEqual(await raw.next(), ["j0", "j0", topics[0], "phx_close", {}])
    raw.send(["j101", "j101", extra, "phx_join", {}])
    assert.deepEqual(await raw.next(), ["j101", "j101", extra, "phx_reply", ok({})])
  })

  test("pipelined joins are answered in the order they were sent", async (t) => {
    // docs/protocol.md §3: joins are synchronous in the connection process; joins are answered in order.
    const { raw } = await client(t)
    const topics = Array.from({ length: 20 }, () => bench())
    topics.forEach((topic, i) => raw.send([`p${i}`, `p${i}`, topic, "phx_join", {}]))
    const got = []
    for (let i = 0; i < topics.length; i++) got.push(await raw.next())
    assert.deepEqual(got.map((f) => f[1]), topics.map((_, i) => `p${i}`), "join replies out of order")
  })

  test("a push sent right after its join (without waiting) reaches the new channel", async (t) => {
    // docs/protocol.md §3: the join blocks every later frame on the socket until join/3 returned.
    const { raw, user } = await client(t)
    const topic = room()
    raw.send(["1", "1", topic, "phx_join", {}])
    raw.send(["1", "2", topic, "count", {}])
    assert.deepEqual(await raw.next(), ["1", "1", topic, "phx_reply", ok({ topic, user })])
    assert.deepEqual(await raw.next(), ["1", "2", topic, "phx_reply", ok({ n: 1 })])
  })

  test("a binary push of echo gets a binary reply (kind 1) with the same bytes", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x5b, 0x7b])
    raw.sendBinary(encodeBinaryPush(j, "11", topic, "echo", bytes))
    const f = await raw.next()
    assert.equal(f.binary, true, `got a text frame ${JSON.stringify(f)}, want a binary reply`)
    assert.deepEqual(decodeBinary(f.data), decodeBinary(encodeBinaryReply(j, "11", topic, "ok", bytes)))
    assert.equal(f.data.toString("hex"), encodeBinaryReply(j, "11", topic, "ok", bytes).toString("hex"))
    // The captured example bytes of docs/protocol.md §2.3 decode the same way.
    const captured = Buffer.from("0001010a033335726f6f6d3a6c6f62627962696e010203", "hex")
    assert.deepEqual(captured, encodeBinaryPush("3", "5", "room:lobby", "bin", [1, 2, 3]))
  })

  test("a binary push on a stale join_ref is dropped and on an unjoined topic gets unmatched topic", async (t) => {
    const { raw, user } = await client(t)
    const topic = room()
    const j = await joined(raw, topic, user)
    raw.sendBinary(encodeBinaryPush("stale", "b1", topic, "echo", [1]))
    raw.sendBinary(encodeBinaryPush(j, "b2", topic, "echo", [2]))
    const f = await raw.next()
    assert.equal(f.binary, true, `got ${JSON.stringify(f)}`)
    assert.equal(f.data.toString("hex"), encodeBinaryReply(j, "b2", topic, "ok", [2]).toString("hex"))
    const other = room()
    raw.sendBinary(encodeBinaryPush("x", "b3", other, "echo", [3]))
    assert.deepEqual(await raw.next(), [null, "b3", other, "phx_reply", err({ reason: "unmatched topic" })])
  })

  test("a malformed text frame closes that connection with an error code; others keep working", async (t) => {
    const a = await client(t)
    const topic = room()
    const ja = await joined(a.raw, topic, a.user)
    const b = await client(t)
    b.raw.sendText("this is not json")
    const closed = await b.raw.waitClosed()
    assert.ok([1002, 1003, 1007, 1008, 1011].includes(closed.code), `close code ${closed.code} (${closed.reason}), want one of 1002/1003/1007/1008/1011`)
    a.raw.send([null, "hb", "phoenix", "heartbeat", {}])
    assert.deepEqual(await a.raw.next(), [null, "hb", "phoenix", "phx_reply", ok({})])
    a.raw.send([ja, "e", topic, "echo", { fine: true }])
    assert.deepEqual(await a.raw.next(), [ja, "e", topic, "phx_reply", ok({ fine: true })])
  })

  test("POST /api/disconnect closes the socket with 1001", async (t) => {
    const user = uid("dc")
    const a = await client(t, user)
    const by = await client(t)
    const res = await postJSON(h.app, "/api/disconnect", { id: `users_socket:${user}` })
    assert.equal(res.status, 200)
    const closed = await a.raw.waitClosed()
    assert.equal(closed.code, 1001, `close code ${closed.code} (${closed.reason}); docs/protocol.md §1.4: disconnect closes with 1001, never 1000`)
    by.raw.send([null, "hb", "phoenix", "heartbeat", {}])
    assert.deepEqual(await by.raw.next(), [null, "hb", "phoenix", "phx_reply", ok({})])
  })

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})

describe("frames: upgrade and serializers", () => {
  const h = useApp({ before, after }, "frames_conn")

  for (const vsn of ["3.0.0", "2.1.0", "0.9.0", "banana"]) {
    test(`vsn=${vsn} is refused with HTTP 403 on upgrade`, async () => {
      const r = await upgradeStatus(h.app.wsEndpoint({ user: uid("v"), vsn }))
      assert.equal(r.status, 403)
    })
  }

  for (const [name, params] of [
    ["user missing", { vsn: "2.0.0" }],
    ["user empty", { user: "", vsn: "2.0.0" }],
    ["user=reject", { user: "reject", vsn: "2.0.0" }],
  ]) {
    test(`a refused connect (${name}) gets HTTP 403 on upgrade`, async () => {
      const r = await upgradeStatus(h.app.wsEndpoint(params))
      assert.equal(r.status, 403)
    })
  }

  test("vsn=2.0.5 is accepted (~> 2.0.0)", async () => {
    const r = await upgradeStatus(h.app.wsEndpoint({ user: uid("v"), vsn: "2.0.5" }))
    assert.equal(r.status, 101)
  })

  test("the Origin is not checked in this app", async (t) => {
    const s = session(t, h.app)
    const raw = await s.raw({ user: uid("o"), vsn: "2.0.0" }, { origin: "http://evil.example" })
    raw.send([null, "1", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "1", "phoenix", "phx_reply", ok({})])
  })

  test("an authToken subprotocol is answered with Sec-WebSocket-Protocol: phoenix", async (t) => {
    const s = session(t, h.app)
    const token = Buffer.from("secret-tok").toString("base64").replace(/=/g, "")
    assert.equal(token, "c2VjcmV0LXRvaw")
    const raw = await s.raw({ user: uid("tok"), vsn: "2.0.0" }, { protocols: ["phoenix", `base64url.bearer.phx.${token}`] })
    assert.equal(raw.ws.protocol, "phoenix")
    raw.send([null, "1", "phoenix", "heartbeat", {}])
    assert.deepEqual(await raw.next(), [null, "1", "phoenix", "phx_reply", ok({})])
  })

  test("V1 (vsn=1.0.0): join, echo, heartbeat, push and broadcast as objects without join_ref", async (t) => {
    const s = session(t, h.app)
    const user = uid("v1")
    const raw = await s.raw({ user, vsn: "1.0.0" })
    const topic = room()
    raw.send({ topic, event: "phx_join", payload: {}, ref: "1", join_ref: "1" })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({ topic, user }), ref: "1", topic })
    raw.send({ topic, event: "echo", payload: { v1: "hi" }, ref: "2" })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({ v1: "hi" }), ref: "2", topic })
    raw.send({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "3" })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({}), ref: "3", topic: "phoenix" })
    raw.send({ topic, event: "push_me", payload: { event: "pushed", payload: { a: 1 } }, ref: "4", join_ref: "1" })
    assert.deepEqual(await raw.next(), { event: "pushed", payload: { a: 1 }, ref: null, topic })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({}), ref: "4", topic })
    await broadcast(h.app, topic, "news", { b: 2 })
    assert.deepEqual(await raw.next(), { event: "news", payload: { b: 2 }, ref: null, topic })
    raw.send({ topic, event: "phx_leave", payload: {}, ref: "5", join_ref: "1" })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({}), ref: "5", topic })
    assert.deepEqual(await raw.next(), { event: "phx_close", payload: {}, ref: "1", topic })
  })

  test("V1 is the default when vsn is absent", async (t) => {
    const s = session(t, h.app)
    const raw = await s.raw({ user: uid("v1") })
    raw.send({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "9" })
    assert.deepEqual(await raw.next(), { event: "phx_reply", payload: ok({}), ref: "9", topic: "phoenix" })
  })

  test("V1 and V2 clients on one topic each get broadcasts in their own format", async (t) => {
    const s = session(t, h.app)
    const topic = room()
    const v1 = await s.raw({ user: uid("v1"), vsn: "1.0.0" })
    const v2user = uid("v2")
    const v2 = await s.raw({ user: v2user, vsn: "2.0.0" })
    v1.send({ topic, event: "phx_join", payload: {}, ref: "1", join_ref: "1" })
    await v1.next()
    v2.send(["1", "1", topic, "phx_join", {}])
    await v2.next()
    v2.send(["1", "2", topic, "new_msg", { body: "mixed" }])
    assert.deepEqual(await v1.next(), { event: "new_msg", payload: { user: v2user, body: "mixed" }, ref: null, topic })
  })

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})
