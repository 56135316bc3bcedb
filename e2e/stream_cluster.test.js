// stream:* on a cluster of three conformance nodes, over Redis and over NATS
// (JetStream): a client of one node goes away, messages are published on
// another, and it comes back on the third: every message once, in order,
// with plain phoenix.js. Needs the Redis (127.0.0.1:6379) and NATS with
// JetStream (127.0.0.1:4222) of the machine, or SUZAKU_E2E_REDIS /
// SUZAKU_E2E_NATS: without them the suite is skipped, or fails when CI is set.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import net from "node:net"
import {
  startApp, session, uid, pushOk, postJSON, Recorder, connect, TRANSPORTS,
} from "./harness.js"

const BROKERS = [
  { name: "redis", url: process.env.SUZAKU_E2E_REDIS || "redis://127.0.0.1:6379" },
  { name: "nats", url: process.env.SUZAKU_E2E_NATS || "nats://127.0.0.1:4222" },
]

function reachable(url) {
  const u = new URL(url)
  return new Promise((resolve) => {
    const c = net.connect({ host: u.hostname, port: Number(u.port) })
    c.once("connect", () => { c.end(); resolve(true) })
    c.once("error", () => resolve(false))
  })
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

for (const br of BROKERS) describe(`stream:* on three nodes over ${br.name}`, () => {
  const nodes = []
  let skip = false
  before(async () => {
    if (!(await reachable(br.url))) {
      if (process.env.CI) throw new Error(`no ${br.name} at ${br.url}`)
      skip = true
      return
    }
    // One cluster name for every run (JetStream keeps one stream for it);
    // unique node names and topics keep concurrent runs apart.
    const url = `${br.url}?cluster=suzakue2estream`
    for (const n of ["a", "b", "c"]) {
      nodes.push(await startApp({ name: `stream-${br.name}-${n}`, args: ["-broker", url, "-node", uid(n)] }))
    }
  })
  after(async () => { await Promise.all(nodes.map((n) => n.stop())) })

  for (const tr of TRANSPORTS) test(`a client recovers on another node [${tr.name}]`, async (t) => {
    if (skip) return t.skip(`no ${br.name}`)
    const [a, b, c] = nodes
    const topic = `stream:${uid("c")}`
    const pos = { epoch: null, offset: 0 }
    const got = new Recorder("new_msg")
    const joins = new Recorder("joins")
    const follow = (sock) => {
      const ch = sock.channel(topic, () => (pos.epoch ? { ...pos } : {}))
      ch.on("new_msg", (p, ref) => { pos.offset = Number(ref); got.push(p.body) })
      ch.join().receive("ok", (r) => {
        if (!r.recovered) { pos.epoch = r.epoch; pos.offset = r.offset }
        joins.push(r)
      })
      return ch
    }
    const sa = session(t, a, tr)
    const sb = session(t, b, tr)
    const sc = session(t, c, tr)
    const user = uid("u")
    const first = await sa.connected(user)
    follow(first)
    await joins.waitCount(1)
    const sender = await sb.connected(uid("s"))
    const out = sender.channel(topic, {})
    await new Promise((resolve, reject) => out.join().receive("ok", resolve).receive("error", reject))
    for (const n of range(1, 10)) await pushOk(out, "new_msg", { body: n })
    await got.waitCount(10, { timeout: 10000 })
    first.disconnect()

    for (const n of range(11, 30)) await pushOk(out, "new_msg", { body: n })
    for (const n of range(31, 40)) {
      const res = await postJSON(b, "/api/broadcast", { topic, event: "new_msg", payload: { body: n } })
      assert.equal(res.status, 200)
    }
    const second = sc.socket(user)
    follow(second)
    await connect(second)
    const [, rejoin] = await joins.waitCount(2, { timeout: 10000 })
    assert.equal(rejoin.recovered, true, JSON.stringify(rejoin))
    for (const n of range(41, 60)) await pushOk(out, "new_msg", { body: n })
    const all = await got.waitCount(60, { timeout: 10000 })
    assert.deepEqual(all, range(1, 60))
  })
})
