// Presence through phoenix's own JS `Presence` class (docs/protocol.md §6.3) over
// WebSocket and over LongPoll: onSync/onJoin/onLeave, list() with
// {status, phx_ref}, set_status (phx_ref_prev), leaves and disconnects, two tabs
// of one user, a fresh presence_state after a rejoin, and the convergence of 50
// and of 160 clients (past the point where the server coalesces diffs) of
// mixed transports joining and leaving in a seeded random order.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, connect, joinOk, pushOk, postJSON, record, assertAlive, withTimeout,
  PresenceProbe, refsOf, countsOf, sortKeys, TRANSPORTS, WEBSOCKET, LONGPOLL,
} from "./harness.js"

const room = () => `room:${uid("pres")}`

// A LongPoll session whose client went away without a word ends once no poll
// has come for 1.5 × the 10 s window: its presences leave then.
const LP_SESSION_GONE_MS = 45000
// How long all clients may take to converge once the server has settled.
const CONVERGE_MS = 30000

const h = useApp({ before, after }, "phoenix_presence")

// member connects user over tr and joins topic with a Presence made before the
// join, as an app does. It resolves with {sock, ch, probe, reply}.
async function member(s, user, topic, { tr, payload } = {}) {
  const sock = await s.connected(user, tr ? { transport: tr.transport } : {})
  const ch = sock.channel(topic, payload || {})
  const probe = new PresenceProbe(ch, `${user} on ${topic}`)
  const reply = await joinOk(ch)
  return { user, sock, ch, probe, reply }
}

// leave leaves ch (phoenix acknowledges it locally at once).
const leave = (ch) => new Promise((resolve) => ch.leave().receive("ok", resolve))

// metaKeys lists the keys of every meta, sorted, to check their shape.
const metaKeys = (metas) => metas.map((m) => Object.keys(m).sort())

// The slow tests (a LongPoll session timing out; the 50 clients) run beside
// the others.
describe("presence", { concurrency: true }, () => {
  for (const tr of TRANSPORTS) describe(`presence [${tr.name}]`, { concurrency: 1 }, () => {
    test("every client's Presence syncs: onSync and onJoin fire, list() shows each user with metas {status, phx_ref}", async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const ua = uid("a"), ub = uid("b"), uc = uid("c")
      const a = await member(s, ua, topic, { payload: { status: "away" } })
      const b = await member(s, ub, topic)
      const c = await member(s, uc, topic, { payload: { status: "busy" } })
      const want = { [ua]: 1, [ub]: 1, [uc]: 1 }
      for (const m of [a, b, c]) await m.probe.untilCounts(want)

      const lists = [a, b, c].map((m) => m.probe.list())
      for (const list of lists) {
        assert.deepEqual(Object.keys(list).sort(), [ua, ub, uc].sort())
        for (const key of [ua, ub, uc]) {
          assert.deepEqual(metaKeys(list[key]), [["phx_ref", "status"]], `metas of ${key}: ${JSON.stringify(list[key])}`)
          assert.equal(typeof list[key][0].phx_ref, "string")
          assert.ok(list[key][0].phx_ref.length > 0)
        }
        assert.equal(list[ua][0].status, "away")
        assert.equal(list[ub][0].status, "online")
        assert.equal(list[uc][0].status, "busy")
      }
      // One presence, one phx_ref: every client sees the same refs.
      assert.deepEqual(b.probe.refs(), a.probe.refs())
      assert.deepEqual(c.probe.refs(), a.probe.refs())
      const refs = a.probe.refs()
      assert.equal(new Set([ua, ub, uc].map((k) => refs[k][0])).size, 3, "two presences share a phx_ref")

      for (const m of [a, b, c]) {
        assert.ok(m.probe.syncs >= 1, `onSync never fired for ${m.user}`)
        // onJoin fired for every key, with the joined metas. (It may fire twice
        // for one meta: when a diff that carries it comes after the
        // presence_state that already had it, phoenix's syncDiff calls onJoin
        // again; the state stays the same.)
        for (const key of [ua, ub, uc]) {
          const j = m.probe.joins.items.filter((x) => x.key === key)
          assert.ok(j.length >= 1, `no onJoin for ${key} at ${m.user}: ${JSON.stringify(m.probe.joins.items)}`)
          for (const x of j) assert.deepEqual(x.joined.metas.map((y) => y.phx_ref), refs[key])
        }
        assert.deepEqual(m.probe.leaves.items, [], `onLeave fired at ${m.user}`)
      }
    })

    test("set_status updates the meta for everyone: a new phx_ref, with phx_ref_prev = the old one", async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const ua = uid("a"), ub = uid("b")
      const a = await member(s, ua, topic)
      const b = await member(s, ub, topic)
      for (const m of [a, b]) await m.probe.untilCounts({ [ua]: 1, [ub]: 1 })
      const old = b.probe.list()[ua][0]
      assert.equal(old.status, "online")

      assert.deepEqual(await pushOk(a.ch, "set_status", { status: "busy" }), {})
      for (const m of [a, b]) {
        await m.probe.until((p) => (p.list()[ua] || [])[0]?.status === "busy", { what: `${ua} busy at ${m.user}` })
        const metas = m.probe.list()[ua]
        assert.equal(metas.length, 1, `metas of ${ua} at ${m.user}: ${JSON.stringify(metas)}`)
        const [meta] = metas
        assert.deepEqual(Object.keys(meta).sort(), ["phx_ref", "phx_ref_prev", "status"])
        assert.notEqual(meta.phx_ref, old.phx_ref)
        assert.equal(meta.phx_ref_prev, old.phx_ref)
        // The update is a join of the new meta and a leave of the old one for
        // the same key (PROTOCOL §6.2); the key stays.
        const left = m.probe.leaves.items.filter((x) => x.key === ua)
        assert.equal(left.length, 1, `onLeave for ${ua} at ${m.user}: ${JSON.stringify(m.probe.leaves.items)}`)
        assert.deepEqual(left[0].left.metas.map((x) => x.phx_ref), [old.phx_ref])
        assert.deepEqual(m.probe.list()[ub].map((x) => x.status), ["online"])
      }

      // A second update chains: phx_ref_prev is the ref of the first update.
      const first = b.probe.list()[ua][0]
      await pushOk(a.ch, "set_status", { status: "away" })
      await b.probe.until((p) => (p.list()[ua] || [])[0]?.status === "away", { what: `${ua} away` })
      const second = b.probe.list()[ua][0]
      assert.equal(second.phx_ref_prev, first.phx_ref)
      assert.deepEqual(a.probe.refs(), b.probe.refs())
    })

    test("a client that leaves its channel disappears from the others' lists, with onLeave", async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const ua = uid("a"), ub = uid("b"), uc = uid("c")
      const a = await member(s, ua, topic)
      const b = await member(s, ub, topic)
      const c = await member(s, uc, topic)
      for (const m of [a, b, c]) await m.probe.untilCounts({ [ua]: 1, [ub]: 1, [uc]: 1 })
      const cRef = a.probe.list()[uc][0].phx_ref

      await leave(c.ch)
      for (const m of [a, b]) {
        await m.probe.untilCounts({ [ua]: 1, [ub]: 1 }, { what: `${uc} gone at ${m.user}` })
        const left = m.probe.leaves.items.filter((x) => x.key === uc)
        assert.equal(left.length, 1)
        assert.deepEqual(left[0].left.metas.map((x) => x.phx_ref), [cRef])
        assert.deepEqual(left[0].current.metas, [], "onLeave's current still has metas")
      }
      assert.deepEqual(b.probe.refs(), a.probe.refs())
    })

    const gone = tr.name === "longpoll"
      ? "a client that disconnects disappears from the others' lists once its LongPoll session times out"
      : "a client that disconnects disappears from the others' lists"
    test(gone, { timeout: LP_SESSION_GONE_MS + 20000 }, async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const ua = uid("a"), ub = uid("b"), uc = uid("c")
      const a = await member(s, ua, topic)
      const b = await member(s, ub, topic)
      const c = await member(s, uc, topic)
      for (const m of [a, b, c]) await m.probe.untilCounts({ [ua]: 1, [ub]: 1, [uc]: 1 })

      c.sock.disconnect()
      // Over WebSocket the server sees the close at once. Over LongPoll nothing
      // tells it: the session ends after 1.5 × the poll window (15 s), as in Phoenix.
      const timeout = tr.name === "longpoll" ? LP_SESSION_GONE_MS : 10000
      for (const m of [a, b]) {
        await m.probe.untilCounts({ [ua]: 1, [ub]: 1 }, { timeout, what: `${uc} gone at ${m.user}` })
        assert.deepEqual(m.probe.leaves.items.map((x) => x.key), [uc])
      }
    })

    test("two tabs of one user (two sockets) give two metas under one key; closing a tab leaves one", async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const user = uid("tabs"), uo = uid("obs")
      const o = await member(s, uo, topic)
      const tab1 = await member(s, user, topic)
      await o.probe.untilCounts({ [uo]: 1, [user]: 1 })
      const ref1 = o.probe.list()[user][0].phx_ref
      const tab2 = await member(s, user, topic, { payload: { status: "away" } })
      for (const m of [o, tab1, tab2]) await m.probe.untilCounts({ [uo]: 1, [user]: 2 })

      const metas = o.probe.list()[user]
      const ref2 = metas.map((m) => m.phx_ref).find((r) => r !== ref1)
      assert.ok(ref2, `two metas with distinct refs: ${JSON.stringify(metas)}`)
      assert.deepEqual(metas.map((m) => [m.phx_ref, m.status]).sort(), [[ref1, "online"], [ref2, "away"]].sort())
      assert.deepEqual(tab1.probe.refs(), o.probe.refs())
      assert.deepEqual(tab2.probe.refs(), o.probe.refs())

      await leave(tab2.ch)
      for (const m of [o, tab1]) {
        await m.probe.untilCounts({ [uo]: 1, [user]: 1 }, { what: `one tab of ${user} at ${m.user}` })
        assert.deepEqual(m.probe.list()[user].map((x) => x.phx_ref), [ref1])
      }
      // The key stayed: onLeave reported the left meta with the other one current.
      const left = o.probe.leaves.items.filter((x) => x.key === user)
      assert.equal(left.length, 1)
      assert.deepEqual(left[0].left.metas.map((x) => x.phx_ref), [ref2])
      assert.deepEqual(left[0].current.metas.map((x) => x.phx_ref), [ref1])
    })

    test("after a server-side disconnect the client rejoins, gets a fresh presence_state, and every list recovers", async (t) => {
      const s = session(t, h.app, tr)
      const topic = room()
      const ua = uid("a"), ub = uid("b")
      const a = await member(s, ua, topic)
      const b = await member(s, ub, topic)
      for (const m of [a, b]) await m.probe.untilCounts({ [ua]: 1, [ub]: 1 })
      const oldRef = a.probe.list()[ub][0].phx_ref
      const states = record(b.ch, "presence_state")
      const joinRef = b.ch.joinRef()

      assert.deepEqual((await postJSON(h.app, "/api/disconnect", { id: `users_socket:${ub}` })).body, { ok: true })
      await b.sock.opens.waitCount(2, { what: `${ub} to reconnect`, timeout: 10000 })
      // b's new join gets a fresh presence_state; without it, phoenix's Presence
      // would buffer the diffs forever (PROTOCOL §6.3).
      const [fresh] = await states.waitCount(1, { timeout: 10000, what: "a presence_state for the rejoin" })
      assert.notEqual(b.ch.joinRef(), joinRef, "the presence_state came before the rejoin")
      assert.ok(fresh[ua], `the fresh presence_state lacks ${ua}: ${JSON.stringify(fresh)}`)
      for (const m of [a, b]) {
        await m.probe.until((p) => {
          const r = p.refs()
          return r[ua] && r[ub] && r[ub].length === 1 && r[ub][0] !== oldRef && Object.keys(r).length === 2
        }, { timeout: 10000, what: `${ub} back with a new phx_ref at ${m.user}` })
      }
      assert.deepEqual(a.probe.refs(), b.probe.refs())
      assert.equal(b.probe.presence.inPendingSyncState(), false)
    })

    test("the app is still healthy after this group", async () => {
      await assertAlive(h.app)
    })
  })

  describe("presence: convergence", () => {
    test("50 clients of mixed transports joining and leaving in a seeded random order converge on the server's list", { timeout: 150000 }, async (t) => {
      await convergence(t, 50, 36)
    })
    // Over 100 subscribers the server coalesces a topic's diffs (the first at
    // once, then one merged diff per 100 ms while changes keep coming): the
    // clients must converge just the same.
    test("160 clients, over the threshold where diffs are coalesced, converge on the server's list", { timeout: 180000 }, async (t) => {
      await convergence(t, 160, 110)
    })
  })

  // convergence runs N clients (users drawn from a pool of poolSize) of mixed
  // transports joining, leaving, disconnecting and updating in a seeded
  // random order, then checks that every remaining client's Presence.list()
  // converges on the server's list.
  async function convergence(t, N, poolSize) {
    const seed = Number(process.env.SUZAKU_E2E_SEED || 0x5eed)
    const rng = mulberry32(seed)
    const pick = (xs) => xs[Math.floor(rng() * xs.length)]
    const s = session(t, h.app)
    const topic = room()
    const tag = uid("conv")

    // Users are drawn from a smaller pool, so some have several tabs.
    const names = Array.from({ length: poolSize }, (_, i) => `${tag}-u${i}`)
    const clients = Array.from({ length: N }, (_, i) => {
      const r = rng()
      const fate = r < 0.55 ? "stay" : r < 0.8 ? "leave" : "disconnect"
      return {
        i,
        user: pick(names),
        tr: rng() < 0.5 ? WEBSOCKET : LONGPOLL,
        status: pick(["online", "away", "busy"]),
        fate,
        update: fate === "stay" && rng() < 0.3,
      }
    })

    // A witness joins before everything and stays.
    const witness = await member(s, `${tag}-witness`, topic, { tr: WEBSOCKET })

    // The schedule: a join for every client, an end for those who go and a
    // set_status for some who stay, shuffled, each after its own join.
    const events = []
    for (const c of clients) {
      events.push({ kind: "join", c })
      if (c.fate !== "stay") events.push({ kind: c.fate, c })
      if (c.update) events.push({ kind: "update", c })
    }
    shuffle(events, rng)
    const seen = new Set()
    for (let k = 0; k < events.length; k++) {
      const e = events[k]
      if (e.kind === "join") { seen.add(e.c); continue }
      if (!seen.has(e.c)) {
        const j = events.findIndex((x, idx) => idx > k && x.c === e.c && x.kind === "join")
        ;[events[k], events[j]] = [events[j], events[k]]
        seen.add(e.c)
      }
    }

    // Run it: each action starts without waiting for the previous ones (a
    // client's own actions wait for its join), with a small seeded pause
    // between them so that joins, leaves and updates interleave on the server.
    const work = []
    for (const e of events) {
      const c = e.c
      if (e.kind === "join") {
        c.sock = s.socket(c.user, { transport: c.tr.transport })
        c.ch = c.sock.channel(topic, { status: c.status })
        c.probe = new PresenceProbe(c.ch, `client ${c.i} (${c.user}, ${c.tr.name})`)
        c.joined = connect(c.sock, 20000).then(() => joinOk(c.ch, 20000))
        work.push(c.joined)
      } else if (e.kind === "leave") {
        work.push(c.joined.then(() => leave(c.ch)))
      } else if (e.kind === "disconnect") {
        work.push(c.joined.then(() => c.sock.disconnect()))
      } else {
        work.push(c.joined.then(() => pushOk(c.ch, "set_status", { status: `s${c.i}` }, 20000)))
      }
      await new Promise((resolve) => setTimeout(resolve, Math.floor(rng() * 6)))
    }
    await withTimeout(Promise.all(work), 60000, "every join, leave, disconnect and set_status")

    const staying = clients.filter((c) => c.fate === "stay")
    const want = { [witness.user]: 1 }
    for (const c of staying) want[c.user] = (want[c.user] || 0) + 1
    t.diagnostic(`seed ${seed}: ${N} clients (${clients.filter((c) => c.tr === LONGPOLL).length} LongPoll), ` +
      `${staying.length} stay as ${Object.keys(want).length - 1} users, ${clients.filter((c) => c.fate === "leave").length} leave, ` +
      `${clients.filter((c) => c.fate === "disconnect").length} disconnect, ${clients.filter((c) => c.update).length} set_status`)

    // Settled: the witness sees exactly the users who stay, with one meta per
    // tab (the LongPoll clients that disconnected leave once their session
    // times out).
    await witness.probe.untilCounts(want, { timeout: LP_SESSION_GONE_MS + 15000 })

    // The server's own view: a fresh observer's presence_state.
    const ou = `${tag}-observer`
    const osock = await s.connected(ou, { transport: LONGPOLL.transport })
    const och = osock.channel(topic)
    const states = record(och, "presence_state")
    const observer = { user: ou, probe: new PresenceProbe(och, "observer") }
    await joinOk(och)
    const [server] = await states.waitCount(1, { timeout: 10000, what: "the observer's presence_state" })
    assert.deepEqual(countsOf(server), sortKeys({ ...want, [ou]: 1 }), "the server's list is not the users who stay, one meta per tab")
    const serverRefs = refsOf(server)
    const statusOf = new Map()
    for (const { metas } of Object.values(server)) for (const m of metas) statusOf.set(m.phx_ref, m.status)
    // Every meta that stayed is there with its last status.
    for (const c of staying) {
      const st = c.update ? `s${c.i}` : c.status
      assert.ok(server[c.user].metas.some((m) => m.status === st), `no meta of ${c.user} with status ${st}: ${JSON.stringify(server[c.user])}`)
    }

    // Every remaining client's Presence.list() converges on it: keys, the set
    // of phx_refs, and each meta's status.
    const everyone = [...staying, witness, observer]
    const same = (p) => {
      if (JSON.stringify(p.refs()) !== JSON.stringify(serverRefs)) return false
      return Object.values(p.list()).every((metas) => metas.every((m) => statusOf.get(m.phx_ref) === m.status))
    }
    try {
      await withTimeout(Promise.all(everyone.map((c) => c.probe.until(same, { timeout: CONVERGE_MS }))), CONVERGE_MS + 5000, "convergence")
    } catch (err) {
      const off = everyone.filter((c) => !same(c.probe))
      const lines = off.slice(0, 10).map((c) => `  ${c.probe.name}: ${describeDiff(c.probe, serverRefs, statusOf)}`)
      throw new Error(`${off.length} of ${everyone.length} clients' Presence.list() differ from the server's list ` +
        `${JSON.stringify(serverRefs)} after ${CONVERGE_MS} ms:\n${lines.join("\n")}`)
    }
    for (const c of everyone) {
      assert.deepEqual(c.probe.refs(), serverRefs, c.probe.name)
      assert.equal(c.probe.presence.inPendingSyncState(), false, `${c.probe.name} still waits for a presence_state`)
    }
  }
})

// describeDiff tells how a client's presence list differs from the server's:
// keys missing or extra, refs missing or extra, and statuses that differ.
function describeDiff(probe, serverRefs, statusOf) {
  const got = probe.refs()
  const out = []
  for (const key of Object.keys(serverRefs)) {
    if (!got[key]) { out.push(`missing ${key}`); continue }
    const missing = serverRefs[key].filter((r) => !got[key].includes(r))
    const extra = got[key].filter((r) => !serverRefs[key].includes(r))
    if (missing.length || extra.length) out.push(`${key}: refs missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`)
  }
  for (const key of Object.keys(got)) if (!serverRefs[key]) out.push(`extra ${key} ${JSON.stringify(got[key])}`)
  for (const metas of Object.values(probe.list())) {
    for (const m of metas) {
      if (statusOf.has(m.phx_ref) && statusOf.get(m.phx_ref) !== m.status) out.push(`${m.phx_ref}: status ${m.status}, server has ${statusOf.get(m.phx_ref)}`)
    }
  }
  return out.join("; ") || "(same now)"
}

// mulberry32 is a small seeded PRNG: the same seed gives the same run.
function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function shuffle(xs, rng) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[xs[i], xs[j]] = [xs[j], xs[i]]
  }
  return xs
}
