// Several nodes, one server: three examples/conformance nodes over a private
// redis-server, and again over a private nats-server, driven by the official
// phoenix client with clients on different nodes and over both transports:
// broadcasts reach every subscriber on every node once, shout_others skips
// only its sender, `secret` is intercepted per subscriber, the JS Presence
// helper converges on every client, a disconnect by socket id closes that
// socket on whichever node holds it, and a LongPoll session works behind a
// round-robin proxy (no sticky sessions) whose requests reach every node.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { uid, pushOk, record, postJSON, broadcast, Recorder, TRANSPORTS, WEBSOCKET, LONGPOLL } from "./harness.js"
import { BROKERS, skipUnless, useCluster, sessions, member, counts } from "./cluster.js"

const room = () => `room:${uid("cl")}`

for (const kind of BROKERS) {
  describe(`cluster over ${kind}`, { skip: skipUnless(kind), concurrency: 1 }, () => {
    const h = useCluster({ before, after }, kind)

    test("every node answers /api/health with its own -node name", async () => {
      const names = []
      for (const app of h.c.nodes) {
        const res = await fetch(`${app.httpURL}/api/health`)
        assert.equal(res.status, 200)
        const body = await res.json()
        assert.deepEqual(body, { ok: true, node: app.nodeName })
        names.push(body.node)
      }
      assert.equal(new Set(names).size, names.length, `node names repeat: ${names}`)
    })

    for (const tr of TRANSPORTS) {
      test(`[${tr.name}] a broadcast from any node reaches every subscriber on every node, once`, async (t) => {
        const open = sessions(t)
        const topic = room()
        const [n0, n1, n2] = h.c.nodes
        // Two subscribers per node; the second one of n1 over the other transport.
        const other = tr === WEBSOCKET ? LONGPOLL : WEBSOCKET
        const ms = []
        for (const [app, t2] of [[n0, tr], [n0, tr], [n1, tr], [n1, other], [n2, tr], [n2, tr]]) {
          ms.push(await member(open, app, uid("b"), topic, t2))
        }
        const recs = ms.map((m) => ({ m, bc: record(m.ch, "bc"), msg: record(m.ch, "new_msg"), end: record(m.ch, "end") }))

        // POST /api/broadcast on each node, then new_msg from a client of n1.
        for (const [i, app] of h.c.nodes.entries()) await broadcast(app, topic, "bc", { from: app.nodeName, i })
        await pushOk(ms[3].ch, "new_msg", { body: "hello all" })
        for (const r of recs) {
          await r.bc.waitCount(3, { what: `3 broadcasts at ${r.m.user} on ${r.m.node}` })
          await r.msg.waitCount(1)
        }
        // A last broadcast from each node: whatever arrives after it is a duplicate.
        for (const app of h.c.nodes) await broadcast(app, topic, "end", { from: app.nodeName })
        for (const r of recs) await r.end.waitCount(3)
        for (const r of recs) {
          const got = r.bc.items.map((p) => p.from).sort()
          assert.deepEqual(got, h.c.nodes.map((a) => a.nodeName).sort(), `broadcasts at ${r.m.user} (on ${r.m.node}): ${JSON.stringify(r.bc.items)}`)
          assert.deepEqual(r.msg.items, [{ user: ms[3].user, body: "hello all" }], `new_msg at ${r.m.user} (on ${r.m.node})`)
        }
      })

      test(`[${tr.name}] shout_others reaches every node and skips only the sender`, async (t) => {
        const open = sessions(t)
        const topic = room()
        const [n0, n1, n2] = h.c.nodes
        const sender = await member(open, n0, uid("s"), topic, tr)
        const sameNode = await member(open, n0, uid("s"), topic, tr)
        const far1 = await member(open, n1, uid("s"), topic, tr)
        const far2 = await member(open, n2, uid("s"), topic, tr)
        const shouts = new Map([sender, sameNode, far1, far2].map((m) => [m, record(m.ch, "shout")]))
        const msgs = new Map([sender, sameNode, far1, far2].map((m) => [m, record(m.ch, "new_msg")]))

        assert.deepEqual(await pushOk(sender.ch, "shout_others", { body: "psst" }), {})
        for (const m of [sameNode, far1, far2]) {
          const [p] = await shouts.get(m).waitCount(1, { what: `the shout at ${m.user} on ${m.node}` })
          assert.deepEqual(p, { user: sender.user, body: "psst" })
        }
        // The sender's own new_msg comes after its shout would have.
        await pushOk(sender.ch, "new_msg", { body: "marker" })
        for (const m of [sender, sameNode, far1, far2]) await msgs.get(m).waitCount(1)
        assert.equal(shouts.get(sender).items.length, 0, `the sender got its own shout: ${JSON.stringify(shouts.get(sender).items)}`)
        for (const m of [sameNode, far1, far2]) assert.equal(shouts.get(m).items.length, 1, `shouts at ${m.user} on ${m.node}`)
      })

      test(`[${tr.name}] secret is intercepted per subscriber on every node`, async (t) => {
        const open = sessions(t)
        const topic = room()
        const [n0, n1, n2] = h.c.nodes
        const admin1 = await member(open, n1, uid("admin"), topic, tr)
        const admin2 = await member(open, n2, uid("admin"), topic, tr)
        const plain0 = await member(open, n0, uid("p"), topic, tr)
        const plain1 = await member(open, n1, uid("p"), topic, tr)
        const plain2 = await member(open, n2, uid("p"), topic, tr)
        const all = [admin1, admin2, plain0, plain1, plain2]
        const secrets = new Map(all.map((m) => [m, record(m.ch, "secret")]))
        const after = new Map(all.map((m) => [m, record(m.ch, "after")]))

        await broadcast(n0, topic, "secret", { code: 42 })
        await broadcast(n0, topic, "after", {})
        for (const m of all) await after.get(m).waitCount(1, { what: `"after" at ${m.user} on ${m.node}` })
        for (const m of [admin1, admin2]) assert.deepEqual(secrets.get(m).items, [{ code: 42 }], `secret at ${m.user} on ${m.node}`)
        for (const m of [plain0, plain1, plain2]) assert.deepEqual(secrets.get(m).items, [], `secret leaked to ${m.user} on ${m.node}`)
      })
    }

    test("presence: the JS Presence helper converges on every client of every node, over both transports", async (t) => {
      const open = sessions(t)
      const topic = room()
      const ms = []
      for (const [i, app] of [...h.c.nodes, ...h.c.nodes].entries()) {
        ms.push(await member(open, app, uid("pr"), topic, TRANSPORTS[i % 2], { status: `s${i}` }))
      }
      let users = ms.map((m) => m.user)
      for (const m of ms) await m.probe.untilCounts(counts(users), { timeout: 10000 })
      // One presence, one phx_ref, the same metas everywhere.
      const lists = ms.map((m) => JSON.stringify(m.probe.list(), Object.keys(m.probe.list()).sort()))
      for (const [i, m] of ms.entries()) {
        assert.deepEqual(m.probe.list(), ms[0].probe.list(), `the list at ${m.user} (${m.node}) differs from the first: ${lists[i]} vs ${lists[0]}`)
      }
      for (const [i, m] of ms.entries()) assert.equal(ms[0].probe.list()[m.user][0].status, `s${i}`)

      // A meta update on n2 reaches every node.
      await pushOk(ms[2].ch, "set_status", { status: "away" })
      for (const m of ms) await m.probe.until((p) => p.list()[ms[2].user]?.[0]?.status === "away", { timeout: 10000, what: `${ms[2].user} away at ${m.user}` })

      // One leaves its channel (on n0), one drops its socket (on n1): both
      // leave every list.
      const gone = [ms[0], ms[4]]
      await new Promise((resolve) => ms[0].ch.leave().receive("ok", resolve))
      ms[4].sock.disconnect()
      const rest = ms.filter((m) => !gone.includes(m))
      users = rest.map((m) => m.user)
      for (const m of rest) await m.probe.untilCounts(counts(users), { timeout: 10000 })
      for (const m of rest) assert.deepEqual(m.probe.refs(), rest[0].probe.refs(), `refs at ${m.user} (${m.node})`)
    })

    for (const tr of TRANSPORTS) {
      test(`[${tr.name}] POST /api/disconnect on one node closes that socket id on the nodes that hold it`, async (t) => {
        const open = sessions(t)
        const topic = room()
        const [n0, n1, n2] = h.c.nodes
        const user = uid("dc")
        const victims = [await open(n1, tr).connected(user), await open(n2, tr).connected(user)]
        const bystander = await open(n2, tr).connected(uid("by"))
        const chans = []
        for (const sock of [...victims, bystander]) {
          const ch = sock.channel(topic)
          const oks = new Recorder(`join oks of ${topic}`)
          ch.join().receive("ok", (r) => oks.push(r))
          await oks.waitCount(1)
          chans.push({ sock, ch, oks })
        }
        const res = await postJSON(n0, "/api/disconnect", { id: `users_socket:${user}` })
        assert.equal(res.status, 200)
        assert.deepEqual(res.body, { ok: true })
        for (const { sock, ch, oks } of chans.slice(0, 2)) {
          const [closed] = await sock.closes.waitCount(1, { what: "the socket to close" })
          assert.notEqual(closed.code, 1000, "a disconnect must never close with 1000")
          await sock.opens.waitCount(2, { what: "the socket to reconnect" })
          await oks.waitCount(2, { what: "the channel to rejoin" })
          assert.deepEqual(await pushOk(ch, "echo", { after: "reconnect" }), { after: "reconnect" })
        }
        const other = chans[2]
        assert.deepEqual(await pushOk(other.ch, "echo", { still: "here" }), { still: "here" })
        assert.equal(other.sock.closes.items.length, 0, "a socket with another id was closed")
      })
    }

    test("[longpoll] behind a round-robin proxy (no sticky sessions): one session's requests reach every node and it works", async (t) => {
      const open = sessions(t)
      const proxy = h.c.proxy
      const topic = room()
      const [n0, n1, n2] = h.c.nodes
      const from = proxy.routes.length
      const lp = await member(open, proxy, uid("lp"), topic, LONGPOLL)
      const far = await member(open, n2, uid("ws"), topic, WEBSOCKET)
      const lpMsgs = record(lp.ch, "new_msg")
      const farMsgs = record(far.ch, "new_msg")
      const lpBc = record(lp.ch, "bc")

      // Several round trips, each a POST and polls that go where the proxy sends them.
      for (let i = 0; i < 6; i++) assert.deepEqual(await pushOk(lp.ch, "count"), { n: i + 1 }, "per-join state lives in one channel")
      await pushOk(lp.ch, "new_msg", { body: "from longpoll" })
      await farMsgs.waitFor((p) => p.body === "from longpoll")
      await lpMsgs.waitFor((p) => p.body === "from longpoll")
      await pushOk(far.ch, "new_msg", { body: "to longpoll" })
      await lpMsgs.waitFor((p) => p.body === "to longpoll")
      for (const app of [n0, n1, n2]) await broadcast(app, topic, "bc", { from: app.nodeName })
      await lpBc.waitCount(3)
      await lp.probe.untilCounts(counts([lp.user, far.user]))
      await far.probe.untilCounts(counts([lp.user, far.user]))
      assert.equal(lp.sock.closes.items.length, 0, `the LongPoll session was lost: ${JSON.stringify(lp.sock.closes.items)}`)

      const lpRoutes = proxy.routes.slice(from).filter((r) => r.path === "/socket/longpoll" && r.query.getAll("user").includes(lp.user))
      const polls = lpRoutes.filter((r) => r.method === "GET")
      const posts = lpRoutes.filter((r) => r.method === "POST")
      const spread = (rs) => new Set(rs.map((r) => r.backend)).size
      assert.ok(posts.length >= 8, `${posts.length} POSTs went through the proxy`)
      assert.ok(spread(posts) >= 2, `the POSTs reached ${spread(posts)} node(s): ${posts.map((r) => r.backend)}`)
      assert.ok(spread(polls) >= 2, `the polls reached ${spread(polls)} node(s): ${polls.map((r) => r.backend)}`)
      assert.equal(spread(lpRoutes), h.c.nodes.length, "the session's requests reached every node")
    })

    test("[websocket] through the round-robin proxy: sockets land on different nodes and talk to each other", async (t) => {
      const open = sessions(t)
      const proxy = h.c.proxy
      const topic = room()
      const from = proxy.routes.length
      const ms = []
      for (let i = 0; i < 3; i++) ms.push(await member(open, proxy, uid("px"), topic, WEBSOCKET))
      const ups = proxy.routes.slice(from).filter((r) => r.upgrade)
      assert.equal(new Set(ups.map((r) => r.backend)).size, 3, `upgrades went to ${ups.map((r) => r.backend)}`)
      const recs = ms.map((m) => record(m.ch, "new_msg"))
      await pushOk(ms[0].ch, "new_msg", { body: "via proxy" })
      for (const r of recs) await r.waitCount(1)
      for (const m of ms) await m.probe.untilCounts(counts(ms.map((x) => x.user)), { timeout: 10000 })
    })
  })
}
