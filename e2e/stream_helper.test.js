// The optional JS helper js/stream (@suzaku/stream) with the official phoenix
// client against stream:*: one line of app code recovers what a disconnected
// client missed, and onReset fires when the history cannot cover it.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { useApp, session, uid, postJSON, Recorder, connect, TRANSPORTS } from "./harness.js"
import { streamChannel } from "../js/stream/index.js"

const h = useApp({ before, after }, "stream_helper")

async function publish(app, topic, from, to) {
  for (let n = from; n <= to; n++) {
    const res = await postJSON(app, "/api/broadcast", { topic, event: "new_msg", payload: { body: n } })
    assert.equal(res.status, 200, res.text)
  }
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

for (const tr of TRANSPORTS) describe(`@suzaku/stream [${tr.name}]`, () => {
  test("recovers every message missed while disconnected, once, in order", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `stream:${uid("h")}`
    const a = await s.connected(uid("a"))
    const got = new Recorder("new_msg")
    const resets = new Recorder("resets")
    const ch = streamChannel(a, topic, { params: { app: "x" }, onReset: (r) => resets.push(r) })
    ch.on("new_msg", (m) => got.push(m.body))
    const joined = new Recorder("joins")
    ch.join().receive("ok", (r) => joined.push(r))
    await joined.waitCount(1)
    await publish(h.app, topic, 1, 5)
    await got.waitCount(5)
    assert.deepEqual(ch.streamPosition().offset, 5)

    a.disconnect()
    await publish(h.app, topic, 6, 25)
    await connect(a)
    const all = await got.waitCount(25, { timeout: 10000 })
    assert.deepEqual(all, range(1, 25))
    assert.equal(ch.streamPosition().offset, 25)
    assert.deepEqual(resets.items, [])
  })

  test("calls onReset when the history no longer covers the position", async (t) => {
    const s = session(t, h.app, tr)
    const topic = `stream:${uid("h")}`
    const a = await s.connected(uid("a"))
    const resets = new Recorder("resets")
    const ch = streamChannel(a, topic, { onReset: (r) => resets.push(r) })
    const joined = new Recorder("joins")
    ch.join().receive("ok", (r) => joined.push(r))
    await joined.waitCount(1)
    a.disconnect()
    await publish(h.app, topic, 1, 120) // the app keeps 100
    await connect(a)
    const [r] = await resets.waitCount(1, { timeout: 10000 })
    assert.equal(r.recovered, false)
    assert.equal(r.offset, 120)
    assert.deepEqual(ch.streamPosition(), { epoch: r.epoch, offset: 120 })
  })
})
