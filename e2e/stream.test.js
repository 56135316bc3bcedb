// The official phoenix client (1.8.16) against the stream:* channel of
// examples/conformance: offsets in the ref slot, the join's epoch and offset,
// and recovery on rejoin with the channel's params as a function, over
// WebSocket and over LongPoll.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, joinOk, pushOk, postJSON, Recorder, connect, withTimeout, deferred, WAIT_MS,
  TRANSPORTS,
} from "./harness.js"

const h = useApp({ before, after }, "stream")

// follow is what an app writes to recover with plain phoenix.js: the join
// params are a function of the last position seen, which phoenix.js calls on
// every rejoin; every message's ref moves that position, and so does a join
// reply that did not recover (after a recovered one, the replayed messages
// move it: taking the reply's offset would skip them if the socket dropped
// again mid-replay).
function follow(sock, topic) {
  const pos = { epoch: null, offset: 0 }
  const ch = sock.channel(topic, () => (pos.epoch ? { epoch: pos.epoch, offset: pos.offset } : {}))
  const msgs = new Recorder(`new_msg on ${topic}`)
  const joins = new Recorder(`joins of ${topic}`)
  ch.on("new_msg", (payload, ref) => {
    pos.offset = Number(ref)
    msgs.push({ ref, body: payload.body, user: payload.user })
  })
  const join = ch.join()
  join.receive("ok", (r) => {
    if (!r.recovered) {
      pos.epoch = r.epoch
      pos.offset = r.offset
    }
    joins.push(r)
  })
  return { ch, pos, msgs, joins }
}

async function publish(app, topic, bodies) {
  for (const body of bodies) {
    const res = await postJSON(app, "/api/broadcast", { topic, event: "new_msg", payload: { body } })
    assert.equal(res.status, 200, res.text)
  }
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

for (const tr of TRANSPORTS) describe(`stream:* [${tr.name}]`, () => {
  test("join {} answers epoch and offset; messages carry their offset as ref; new_msg answers its offset", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `stream:${uid("s")}`
    await publish(h.app, topic, ["a", "b"])
    const a = await s.connected(uid("a"))
    const f = follow(a, topic)
    const [r] = await f.joins.waitCount(1)
    assert.equal(typeof r.epoch, "string")
    assert.ok(r.epoch.length > 0)
    assert.deepEqual(Object.keys(r).sort(), ["epoch", "offset"])
    assert.equal(r.offset, 2)
    assert.deepEqual(await pushOk(f.ch, "new_msg", { body: "c" }), { offset: 3 })
    await publish(h.app, topic, ["d"])
    const got = await f.msgs.waitCount(2)
    assert.deepEqual(got.map((m) => [m.ref, m.body]), [["3", "c"], ["4", "d"]])
    assert.equal(got[0].user, a.params().user)
  })

  test("a client that goes away and comes back gets every message sent meanwhile, once, in order", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `stream:${uid("s")}`
    const a = await s.connected(uid("a"))
    const b = await s.connected(uid("b"))
    const f = follow(a, topic)
    await f.joins.waitCount(1)
    const fb = follow(b, topic)
    await fb.joins.waitCount(1)
    await pushOk(fb.ch, "new_msg", { body: 1 })
    await f.msgs.waitCount(1)

    a.disconnect()
    for (const n of range(2, 40)) await pushOk(fb.ch, "new_msg", { body: n })
    // Keep broadcasting while a reconnects and rejoins: the replay races them.
    let sending = true
    const racing = (async () => {
      let n = 41
      while (sending && n <= 400) await pushOk(fb.ch, "new_msg", { body: n++ })
      return n - 1
    })()
    await connect(a)
    const [, rejoin] = await f.joins.waitCount(2)
    assert.equal(rejoin.recovered, true, JSON.stringify(rejoin))
    await f.msgs.waitFor((m) => Number(m.ref) >= 60, { timeout: 10000 })
    sending = false
    const last = await racing
    const got = await f.msgs.waitCount(last, { timeout: 10000 })
    assert.deepEqual(got.map((m) => m.body), range(1, last))
    assert.deepEqual(got.map((m) => m.ref), range(1, last).map(String))
  })

  test("a position the history no longer covers answers recovered false and the fresh position, with no replay", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `stream:${uid("s")}`
    const a = await s.connected(uid("a"))
    const f = follow(a, topic)
    const [first] = await f.joins.waitCount(1)
    a.disconnect()
    await publish(h.app, topic, range(1, 130)) // the app keeps 100
    await connect(a)
    const [, r] = await f.joins.waitCount(2)
    assert.deepEqual(r, { epoch: first.epoch, offset: 130, recovered: false })
    await publish(h.app, topic, ["live"])
    const got = await f.msgs.waitCount(1)
    assert.deepEqual(got.map((m) => [m.ref, m.body]), [["131", "live"]])

    // Another epoch: not recovered either.
    const other = a.channel(topic, { epoch: "not-" + first.epoch, offset: 3 })
    assert.deepEqual(await joinOk(other), { epoch: first.epoch, offset: 131, recovered: false })
  })

  test("bad recovery params get an error reply", async (t) => {
    const s = session(t, h.app, tr)
    const a = await s.connected(uid("a"))
    const ch = a.channel(`stream:${uid("s")}`, { epoch: "e", offset: -1 })
    const d = deferred()
    ch.join().receive("error", (r) => d.resolve(r)).receive("ok", (r) => d.reject(new Error(`joined: ${JSON.stringify(r)}`)))
    const r = await withTimeout(d.promise, WAIT_MS, "join error")
    assert.match(r.reason, /invalid stream position/)
    ch.leave()
  })
})
