// The official phoenix client (1.8.16) against examples/conformance: connecting,
// refusals, socket-id disconnects and the authToken subprotocol.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, joinOk, pushOk, postJSON, Recorder, assertAlive,
} from "./harness.js"

const room = () => `room:${uid("sock")}`

describe("phoenix socket", () => {
  const h = useApp({ before, after }, "phoenix_socket")

  test("connects with params user and the join sees the user", async (t) => {
    const s = session(t, h.app)
    const user = uid("alice")
    const sock = await s.connected(user)
    assert.equal(sock.isConnected(), true)
    assert.equal(sock.opens.items.length, 1)
    const topic = room()
    assert.deepEqual(await joinOk(sock.channel(topic)), { topic, user })
  })

  for (const [name, params] of [
    ["user missing", {}],
    ["user empty", { user: "" }],
    ["user=reject", { user: "reject" }],
  ]) {
    test(`refuses the connect when ${name}: the socket never opens and onError fires`, async (t) => {
      const s = session(t, h.app)
      const sock = s.socket(null, { params })
      sock.connect()
      // The first attempt and at least one reconnect both fail.
      await sock.errors.waitCount(2, { what: "two socket errors" })
      assert.equal(sock.opens.items.length, 0, "onOpen fired for a refused connect")
      assert.equal(sock.isConnected(), false)
      sock.disconnect()
    })
  }

  test("authToken is sent as a subprotocol and the socket opens", async (t) => {
    const s = session(t, h.app)
    const user = uid("tok")
    const sock = await s.connected(user, { authToken: "secret-tok" })
    assert.equal(sock.conn.protocol, "phoenix")
    const topic = room()
    const ch = sock.channel(topic)
    assert.deepEqual(await joinOk(ch), { topic, user })
    assert.deepEqual(await pushOk(ch, "echo", { a: 1 }), { a: 1 })
  })

  test("POST /api/disconnect closes every socket of that id, which reconnect and rejoin", async (t) => {
    const s = session(t, h.app)
    const user = uid("dc")
    const a = await s.connected(user)
    const b = await s.connected(user)
    const bystander = await s.connected(uid("bystander"))
    const topic = room()

    const chans = []
    for (const sock of [a, b, bystander]) {
      const ch = sock.channel(topic)
      const oks = new Recorder(`join oks of ${topic}`)
      ch.join().receive("ok", (r) => oks.push(r))
      await oks.waitCount(1)
      chans.push({ sock, ch, oks })
    }

    const res = await postJSON(h.app, "/api/disconnect", { id: `users_socket:${user}` })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { ok: true })

    for (const { sock, ch, oks } of chans.slice(0, 2)) {
      const [closed] = await sock.closes.waitCount(1, { what: "the socket to close" })
      assert.notEqual(closed.code, 1000, "a disconnect must never close with 1000 (clients before 1.8.16 would not reconnect)")
      await sock.opens.waitCount(2, { what: "the socket to reconnect (second onOpen)" })
      await oks.waitCount(2, { what: "the channel to rejoin after the reconnect" })
      assert.deepEqual(await pushOk(ch, "echo", { after: "reconnect" }), { after: "reconnect" })
    }

    // The other user's socket was not touched.
    const other = chans[2]
    assert.deepEqual(await pushOk(other.ch, "echo", { still: "here" }), { still: "here" })
    assert.equal(other.sock.closes.items.length, 0, "a socket with another id was closed")
    assert.equal(other.oks.items.length, 1, "a socket with another id rejoined")
  })

  test("POST /api/disconnect of an id no socket has answers 200 {ok:true}", async () => {
    const res = await postJSON(h.app, "/api/disconnect", { id: `users_socket:${uid("nobody")}` })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { ok: true })
  })

  test("the app is still healthy after this file", async () => {
    await assertAlive(h.app)
  })
})
