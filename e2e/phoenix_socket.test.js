// The official phoenix client (1.8.16) against examples/conformance: connecting,
// refusals, socket-id disconnects and the authToken, each over WebSocket and
// over LongPoll.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, joinOk, pushOk, postJSON, Recorder, assertAlive, TRANSPORTS, transportName,
} from "./harness.js"

const room = () => `room:${uid("sock")}`

// One app serves both transports' suites.
const h = useApp({ before, after }, "phoenix_socket")

for (const tr of TRANSPORTS) describe(`phoenix socket [${tr.name}]`, () => {
  test("connects with params user and the join sees the user", async (t) => {
    const s = session(t, h.app, tr)
    const user = uid("alice")
    const sock = await s.connected(user)
    assert.equal(sock.isConnected(), true)
    assert.equal(transportName(sock), tr.name)
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
      const s = session(t, h.app, tr)
      const sock = s.socket(null, { params })
      sock.connect()
      // The first attempt and at least one reconnect both fail.
      await sock.errors.waitCount(2, { what: "two socket errors" })
      assert.equal(sock.opens.items.length, 0, "onOpen fired for a refused connect")
      assert.equal(sock.isConnected(), false)
      sock.disconnect()
    })
  }

  const how = tr.name === "websocket" ? "as a subprotocol" : "in the X-Phoenix-AuthToken header"
  test(`authToken is sent ${how} and the socket opens`, async (t) => {
    const s = session(t, h.app, tr)
    const user = uid("tok")
    const sock = await s.connected(user, { authToken: "secret-tok" })
    if (tr.name === "websocket") assert.equal(sock.conn.protocol, "phoenix")
    else assert.equal(sock.conn.authToken, "secret-tok", "the LongPoll transport did not take the token from the subprotocols")
    const topic = room()
    const ch = sock.channel(topic)
    assert.deepEqual(await joinOk(ch), { topic, user })
    assert.deepEqual(await pushOk(ch, "echo", { a: 1 }), { a: 1 })
  })

  test("POST /api/disconnect closes every socket of that id, which reconnect and rejoin", async (t) => {
    const s = session(t, h.app, tr)
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

  if (tr.name === "longpoll") {
    test("a user param named token comes before the session token in the URL and the session still works", async (t) => {
      const s = session(t, h.app, tr)
      const user = uid("utok")
      const sock = await s.connected(user, { params: { user, token: "user-tok" } })
      // What phoenix.js polls: ?user=…&token=user-tok&vsn=2.0.0&token=<session> (PROTOCOL §5.4).
      const url = new URL(sock.conn.endpointURL())
      const tokens = url.searchParams.getAll("token")
      assert.equal(tokens.length, 2, `the poll URL is ${url}`)
      assert.equal(tokens[0], "user-tok")
      assert.notEqual(tokens[1], "user-tok")
      const topic = room()
      const ch = sock.channel(topic)
      assert.deepEqual(await joinOk(ch), { topic, user })
      assert.deepEqual(await pushOk(ch, "echo", { over: "longpoll" }), { over: "longpoll" })
      assert.deepEqual(await pushOk(ch, "count"), { n: 2 })
      assert.equal(sock.closes.items.length, 0, "the session was lost")
    })
  }

  test("POST /api/disconnect of an id no socket has answers 200 {ok:true}", async () => {
    const res = await postJSON(h.app, "/api/disconnect", { id: `users_socket:${uid("nobody")}` })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { ok: true })
  })

  test("the app is still healthy after this group", async () => {
    await assertAlive(h.app)
  })
})
