// A broker that restarts, for a private redis-server and a private
// nats-server (started by the test on a free port; the shared ones are never
// touched): while it is down each node's local delivery goes on; once it is
// back, cross-node delivery and presence resume within 5 s; the nodes log
// the outage a few times, not once per message.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { uid, push, pushOk, record, broadcast, postJSON, WEBSOCKET, LONGPOLL } from "./harness.js"
import { BROKERS, skipUnless, useCluster, sessions, member, counts, sleep } from "./cluster.js"

const room = () => `room:${uid("br")}`

// The contract's bound, from the broker's return.
const RESUME_MS = 5000
// How long the broker stays down.
const OUTAGE_MS = 3000

for (const kind of BROKERS) {
  describe(`cluster over a restarted ${kind}`, { skip: skipUnless(kind), concurrency: 1 }, () => {
    const h = useCluster({ before, after }, kind, { n: 2 })

    test("local delivery never stops; cross-node delivery and presence resume within 5 s of the broker's return", async (t) => {
      const open = sessions(t)
      const topic = room()
      const [n0, n1] = h.c.nodes
      const a = await member(open, n0, uid("a"), topic, WEBSOCKET)
      const b = await member(open, n0, uid("b"), topic, LONGPOLL)
      const c = await member(open, n1, uid("c"), topic, WEBSOCKET)
      for (const m of [a, b, c]) await m.probe.untilCounts(counts([a.user, b.user, c.user]), { timeout: 10000 })
      const atB = record(b.ch, "new_msg")
      const atC = record(c.ch, "new_msg")
      const bcAtA = record(a.ch, "local")
      const logLines = () => h.c.nodes.map((app) => app.log().split("\n").length)
      const lines0 = logLines()

      await h.c.broker.stop()
      const down = Date.now()
      // Local delivery on n0 while the broker is away: pushes and the HTTP API.
      let sent = 0
      const replies = {}
      while (Date.now() - down < OUTAGE_MS) {
        const body = `local ${++sent}`
        // The reply may say the broadcast did not reach the broker; the
        // contract is about delivery.
        const r = await push(a.ch, "new_msg", { body })
        const key = r.status === "ok" ? "ok" : `${r.status} ${JSON.stringify(r.response)}`
        replies[key] = (replies[key] || 0) + 1
        await atB.waitFor((p) => p.body === body, { what: `"${body}" at ${b.user} (same node, broker down)` })
        await sleep(100)
      }
      t.diagnostic(`new_msg replies while the broker is down: ${JSON.stringify(replies)}`)
      const res = await postJSON(n0, "/api/broadcast", { topic, event: "local", payload: { n: 1 } })
      t.diagnostic(`POST /api/broadcast while the broker is down: ${res.status} ${res.text}`)
      await bcAtA.waitFor((p) => p.n === 1, { what: "a broadcast from n0's API to reach n0's subscriber while the broker is down" })
      // A user who joins n1 during the outage.
      const d = await member(open, n1, uid("d"), topic, LONGPOLL)
      assert.ok(sent >= 10, `only ${sent} local messages during the outage`)

      await h.c.broker.start()
      const back = Date.now()
      t.diagnostic(`the broker was down ${back - down} ms`)

      // Cross-node delivery: n0 → n1 and n1 → n0, each within 5 s of the return.
      const crossTo = async (from, to, label) => {
        const rec = record(to.ch, "cross")
        let i = 0
        while (Date.now() - back < RESUME_MS) {
          await broadcast(from, topic, "cross", { label, i: ++i })
          try {
            await rec.waitFor((p) => p.label === label, { timeout: 200 })
            return Date.now() - back
          } catch { /* not yet */ }
        }
        assert.fail(`${label}: no broadcast crossed within ${RESUME_MS} ms of the broker's return (${i} sent)`)
      }
      const t01 = await crossTo(n0, c, "n0→n1")
      const t10 = await crossTo(n1, a, "n1→n0")
      t.diagnostic(`cross-node delivery resumed ${t01} ms (n0→n1) and ${t10} ms (n1→n0) after the broker's return`)

      // Presence: every client lists every user, d included, within 5 s.
      const all = [a, b, c, d]
      for (const m of all) {
        await m.probe.untilCounts(counts(all.map((x) => x.user)), {
          timeout: Math.max(RESUME_MS - (Date.now() - back), 1),
          what: `${m.user} (on ${m.node}) to list every user within ${RESUME_MS} ms of the broker's return`,
        })
      }
      t.diagnostic(`presence converged ${Date.now() - back} ms after the broker's return`)
      // A pushed message crosses too.
      await pushOk(d.ch, "new_msg", { body: "after the outage" })
      await atB.waitFor((p) => p.body === "after the outage")

      // The outage is logged a few times per node, not once per message.
      const lines = logLines().map((n, i) => n - lines0[i])
      for (const [i, n] of lines.entries()) {
        assert.ok(n <= Math.max(20, sent / 2), `node ${h.c.nodes[i].nodeName} logged ${n} lines during the outage for ${sent} messages (log ${h.c.nodes[i].logPath})`)
      }
    })
  })
}
