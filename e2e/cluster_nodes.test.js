// Nodes come and go, over a private redis-server and again over a private
// nats-server: a SIGKILLed node's users leave the other nodes' presence within
// 15 s and its clients reconnect through the round-robin proxy to the others,
// rejoin and work; a node that starts joins the cluster's presence within 5 s;
// SIGTERM on one node of three drains it (close 1012) while the others keep
// serving without a gap.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { uid, pushOk, record, broadcast, LONGPOLL, WEBSOCKET, withTimeout } from "./harness.js"
import { BROKERS, skipUnless, useCluster, sessions, member, counts, RoundRobinProxy, sleep } from "./cluster.js"

const room = () => `room:${uid("nd")}`

// The contract's bounds.
const DOWN_MS = 15000
const JOIN_MS = 5000
// How long clients may take to reconnect through the proxy, rejoin and
// converge again.
const RECOVER_MS = 15000

// refsOf lists every phx_ref in a probe's list.
const refsIn = (probe) => Object.values(probe.list()).flat().map((m) => m.phx_ref)

// history describes a member's socket and the proxy's routes, for a failure message.
function history(m, lb, victim) {
  const s = m.sock
  const closes = {}
  for (const c of s.closes.items) closes[`${c.code} ${c.reason}`] = (closes[`${c.code} ${c.reason}`] || 0) + 1
  return `socket opens ${s.opens.items.length}, closes ${JSON.stringify(closes)}, errors ${s.errors.items.length}, ` +
    `join oks ${m.oks.items.length}; the victim was ${victim.addr}; the proxy's last routes: ` +
    lb.routes.slice(-12).map((r) => `${r.method} ${r.path} -> ${r.backend}`).join(", ")
}

// proxyTo starts a round-robin proxy in front of backends, closed when t ends.
async function proxyTo(t, apps) {
  const p = await RoundRobinProxy.start(apps.map((a) => a.addr))
  t.after(() => p.close())
  return p
}

for (const kind of BROKERS) {
  describe(`cluster nodes over ${kind}`, { skip: skipUnless(kind), concurrency: 1 }, () => {
    const h = useCluster({ before, after }, kind)

    test("SIGKILL: the node's users leave every other node's presence within 15 s; its clients reconnect through the proxy and work", async (t) => {
      const open = sessions(t)
      const topic = room()
      const [n0, n1, victim] = h.c.nodes
      const w0 = await member(open, n0, uid("w"), topic, WEBSOCKET)
      const w1 = await member(open, n1, uid("w"), topic, LONGPOLL)
      // The victim's clients came in through the load balancer and landed on it.
      const lb = await proxyTo(t, [victim])
      const v1 = await member(open, lb, uid("v"), topic, WEBSOCKET)
      const v2 = await member(open, lb, uid("v"), topic, LONGPOLL)
      // One of its users does not come back.
      const lost = await member(open, victim, uid("lost"), topic, WEBSOCKET)
      const everyone = [w0, w1, v1, v2, lost]
      for (const m of everyone) await m.probe.untilCounts(counts(everyone.map((x) => x.user)), { timeout: 10000 })
      const victimRefs = [v1, v2, lost].map((m) => w0.probe.list()[m.user][0].phx_ref)

      lb.setBackends([victim, n0, n1].map((a) => a.addr))
      const killed = Date.now()
      victim.proc.kill("SIGKILL")
      h.c.removeNode(victim)
      lost.sock.disconnect()
      await victim.exited
      const dead = Date.now()

      // Every presence the victim held leaves w0's and w1's lists.
      for (const w of [w0, w1]) {
        await w.probe.until((p) => !(lost.user in p.list()) && !refsIn(p).some((r) => victimRefs.includes(r)), {
          timeout: Math.max(DOWN_MS - (Date.now() - killed), 1),
          what: `the killed node's presences (${victimRefs}) to leave ${w.user}'s list within ${DOWN_MS} ms of the kill`,
        })
      }
      t.diagnostic(`the killed node's presences left the others' lists ${Date.now() - killed} ms after the kill`)

      // v1 and v2 reconnect through the proxy (to n0 or n1), rejoin and work.
      for (const v of [v1, v2]) {
        await v.sock.opens.waitCount(2, { timeout: RECOVER_MS, what: () => `${v.user} to reconnect through the proxy; ${history(v, lb, victim)}` })
        await v.oks.waitCount(2, { timeout: RECOVER_MS, what: () => `${v.user} to rejoin; ${history(v, lb, victim)}` })
      }
      const alive = [w0, w1, v1, v2]
      for (const m of alive) await m.probe.untilCounts(counts(alive.map((x) => x.user)), { timeout: RECOVER_MS })
      const msgs = alive.map((m) => record(m.ch, "new_msg"))
      await pushOk(v2.ch, "new_msg", { body: "back" })
      for (const r of msgs) await r.waitFor((p) => p.user === v2.user && p.body === "back")
      const lbRoutes = lb.routes.filter((r) => r.at > dead)
      assert.ok(lbRoutes.length > 0, "no request went through the proxy after the kill")
      assert.deepEqual(lbRoutes.filter((r) => r.backend === victim.addr), [], "requests that came after the kill reached the dead node")
    })

    test("a node that starts joins the cluster's presence within 5 s", async (t) => {
      const open = sessions(t)
      const topic = room()
      const old = []
      for (const app of h.c.nodes) old.push(await member(open, app, uid("o"), topic, WEBSOCKET))
      for (const m of old) await m.probe.untilCounts(counts(old.map((x) => x.user)), { timeout: 10000 })

      const fresh = await h.c.addNode()
      h.c.proxy.setBackends(h.c.nodes.map((a) => a.addr))
      const started = Date.now() // it printed "listening on"
      const nm = await member(open, fresh, uid("new"), topic, LONGPOLL)
      const all = [...old, nm]
      for (const m of all) {
        await m.probe.untilCounts(counts(all.map((x) => x.user)), {
          timeout: Math.max(JOIN_MS - (Date.now() - started), 1),
          what: `${m.user} (on ${m.node}) to list every user within ${JOIN_MS} ms of the new node's start`,
        })
      }
      t.diagnostic(`the new node's presence converged ${Date.now() - started} ms after it started`)
      // And its broadcasts reach the others.
      const recs = old.map((m) => record(m.ch, "new_msg"))
      await pushOk(nm.ch, "new_msg", { body: "hi from the new node" })
      for (const r of recs) await r.waitCount(1)
    })

    test("SIGTERM on one node of three drains it (1012) while the others keep serving", async (t) => {
      const open = sessions(t)
      const topic = room()
      assert.ok(h.c.nodes.length >= 3)
      const victim = h.c.nodes[h.c.nodes.length - 1]
      const [n0, n1] = h.c.nodes
      const w0 = await member(open, n0, uid("w"), topic, WEBSOCKET)
      const w1 = await member(open, n1, uid("w"), topic, LONGPOLL)
      const lb = await proxyTo(t, [victim])
      const d1 = await member(open, lb, uid("d"), topic, WEBSOCKET)
      const d2 = await member(open, lb, uid("d"), topic, LONGPOLL)
      const everyone = [w0, w1, d1, d2]
      for (const m of everyone) await m.probe.untilCounts(counts(everyone.map((x) => x.user)), { timeout: 10000 })
      lb.setBackends(h.c.nodes.map((a) => a.addr))

      // Broadcasts keep flowing from n0 during the drain.
      const ticks = [w0, w1].map((m) => record(m.ch, "tick"))
      let sent = 0
      let stop = false
      const loop = (async () => {
        while (!stop) {
          await broadcast(n0, topic, "tick", { i: ++sent })
          await sleep(50)
        }
      })()

      await sleep(200)
      victim.proc.kill("SIGTERM")
      h.c.removeNode(victim)
      const [closed] = await d1.sock.closes.waitCount(1, { timeout: 10000, what: "the drained node to close the WebSocket" })
      assert.equal(closed.code, 1012, `the drain closed the WebSocket with ${closed.code}, want 1012 (service restart)`)
      const exit = await withTimeout(victim.exited, 30000, "the drained node to exit")
      assert.equal(exit.code, 0, `the drained node exited with ${JSON.stringify(exit)}`)
      await sleep(300)
      stop = true
      await loop

      // The others served every tick, in order, during the drain.
      for (const r of ticks) await r.waitCount(sent, { timeout: 10000 })
      for (const [i, r] of ticks.entries()) {
        assert.deepEqual(r.items.map((p) => p.i), Array.from({ length: sent }, (_, k) => k + 1), `ticks at ${[w0, w1][i].user}`)
      }
      // The drained clients come back through the proxy to the other nodes.
      for (const d of [d1, d2]) {
        await d.oks.waitCount(2, { timeout: RECOVER_MS, what: () => `${d.user} to rejoin on another node; ${history(d, lb, victim)}` })
      }
      for (const m of everyone) await m.probe.untilCounts(counts(everyone.map((x) => x.user)), { timeout: RECOVER_MS })
      const msgs = [w0, w1].map((m) => record(m.ch, "new_msg"))
      await pushOk(d1.ch, "new_msg", { body: "moved" })
      for (const r of msgs) await r.waitCount(1)
    })
  })
}
