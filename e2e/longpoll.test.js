// LongPoll at the HTTP level, with fetch and no client (docs/protocol.md §5): the
// handshake, polls (200, 204, superseded), ndjson POSTs with JSON and base64
// binary lines, malformed lines, the CORS preflight, tokens in the query and in
// headers, and the ends of a session. Frames are compared deeply; presence_*
// frames are skipped.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import {
  useApp, session, uid, lpRequest, postJSON, broadcast, assertAlive, encodeBinaryPush, withTimeout,
} from "./harness.js"

const room = () => `room:${uid("lp")}`
const ok = (response) => ({ response, status: "ok" })

// The headers every LongPoll answer carries (PROTOCOL §5.1).
function assertLPHeaders(r) {
  assert.equal(r.http, 200, `HTTP status; body ${r.text}`)
  assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8")
  assert.equal(r.headers.get("cache-control"), "no-store")
  assert.equal(r.headers.get("access-control-allow-origin"), "*")
}

// Keys in Jason's (sorted) order, with the messages as an array of strings.
const messagesBody = (status) => new RegExp(`^\\{"messages":\\[.*\\],"status":${status},"token":"[^"]+"\\}$`, "s")

// base64 of a binary push frame, as phoenix.js sends it in an ndjson line.
const b64 = (buf) => Buffer.from(buf).toString("base64")

const h = useApp({ before, after }, "longpoll")

// The slow test (a whole 10 s poll window) runs beside the others.
describe("longpoll", { concurrency: true }, () => {
  describe("longpoll: the poll window", () => {
    test("a poll with nothing to send is answered 204 with the same token after the window (10 s)", async (t) => {
      const s = session(t, h.app)
      const lp = await s.lp({ user: uid("win") })
      const started = Date.now()
      const r = await withTimeout(lp.poll(), 25000, "the poll to be answered")
      const held = Date.now() - started
      assertLPHeaders(r)
      assert.equal(r.text, `{"messages":[],"status":204,"token":"${lp.token}"}`)
      // The server held the poll for its window (10 s by default), not less; the
      // bound is loose so that a loaded machine cannot fail it.
      assert.ok(held >= 8000, `the poll was answered after ${held} ms, want about 10 000`)
      // The session is still there: a poll after a 204 carries frames.
      const topic = room()
      const j = uid("j")
      await lp.postOk([[j, j, topic, "phx_join", {}]])
      const again = await lp.poll()
      assert.equal(again.body.status, 200, again.text)
    })
  })

  describe("longpoll: requests", { concurrency: 1 }, () => {
    test("a GET without a token opens a session: HTTP 200 {messages:[],status:410,token}", async () => {
      const r = await lpRequest(h.app.lpEndpoint({ user: uid("open"), vsn: "2.0.0" }), { headers: { accept: "application/json" } })
      assertLPHeaders(r)
      assert.match(r.text, /^\{"messages":\[\],"status":410,"token":"[^"]+"\}$/)
      assert.deepEqual(Object.keys(r.body), ["messages", "status", "token"])
      assert.ok(r.body.token.length > 0)
      // Tokens go back in a URL as they are: they must be URL-safe.
      assert.match(r.body.token, /^[A-Za-z0-9_\-.~]+$/)
    })

    test("every session gets its own token", async () => {
      const user = uid("two")
      const a = await lpRequest(h.app.lpEndpoint({ user, vsn: "2.0.0" }))
      const b = await lpRequest(h.app.lpEndpoint({ user, vsn: "2.0.0" }))
      assert.notEqual(a.body.token, b.body.token)
    })

    test("a poll answers 200 with the buffered frames, each a JSON string of a V2 frame, in order", async (t) => {
      const s = session(t, h.app)
      const user = uid("poll")
      const lp = await s.lp({ user })
      const topic = room()
      const j = uid("j")
      // Three POSTs before any poll: their replies wait in the session's buffer.
      await lp.postOk([[j, j, topic, "phx_join", {}]])
      await lp.postOk([[j, "e1", topic, "echo", { a: [1, "two"] }]])
      await lp.postOk([[j, "c1", topic, "count", {}]])
      const want = [
        [j, j, topic, "phx_reply", ok({ topic, user })],
        [j, "e1", topic, "phx_reply", ok({ a: [1, "two"] })],
        [j, "c1", topic, "phx_reply", ok({ n: 2 })],
      ]
      const r = await lp.poll()
      assertLPHeaders(r)
      assert.match(r.text, messagesBody(200))
      assert.deepEqual(Object.keys(r.body), ["messages", "status", "token"])
      assert.equal(r.body.token, lp.token)
      assert.ok(r.body.messages.length > 0)
      for (const m of r.body.messages) assert.equal(typeof m, "string", `a message is not a string: ${JSON.stringify(m)}`)
      // The replies may be split over polls if the channel is slower than the
      // POST answer: collect them all, in order.
      const got = []
      for (let i = 0; i < want.length; i++) got.push(await lp.next())
      assert.deepEqual(got, want)
    })

    test("a presence_state pushed after the join comes as a string frame too", async (t) => {
      const s = session(t, h.app)
      const user = uid("pres")
      const lp = await s.lp({ user })
      const topic = room()
      const j = uid("j")
      await lp.postOk([[j, j, topic, "phx_join", { status: "away" }]])
      const seen = []
      for (let i = 0; i < 20 && !seen.some((f) => f[3] === "presence_state"); i++) {
        const r = await lp.poll()
        if (r.body.status === 200) seen.push(...r.body.messages.map((m) => JSON.parse(m)))
      }
      const state = seen.find((f) => f[3] === "presence_state")
      assert.ok(state, `no presence_state in ${JSON.stringify(seen)}`)
      assert.deepEqual(state.slice(0, 4), [j, null, topic, "presence_state"])
      assert.deepEqual(Object.keys(state[4]), [user])
      const [meta] = state[4][user].metas
      assert.equal(meta.status, "away")
      assert.equal(typeof meta.phx_ref, "string")
    })

    test("a session has one poll: a second poll answers the waiting one 204 at once", async (t) => {
      const s = session(t, h.app)
      const lp = await s.lp({ user: uid("sup") })
      // Whichever of the two polls reaches the server first is taken over by the
      // other and answered 204 at once; the other stays held, within its window.
      const a = lp.poll().then((r) => ({ who: "a", r }))
      const b = lp.poll().then((r) => ({ who: "b", r }))
      const first = await withTimeout(Promise.race([a, b]), 7000, "one of two polls to be answered before the 10 s window")
      assertLPHeaders(first.r)
      assert.equal(first.r.text, `{"messages":[],"status":204,"token":"${lp.token}"}`)
      // The other one is the session's poll: it carries the next frame.
      await lp.postOk([[null, "hb", "phoenix", "heartbeat", {}]])
      const other = await withTimeout(first.who === "a" ? b : a, 7000, "the remaining poll to carry the heartbeat reply")
      assert.equal(other.r.body.status, 200, other.r.text)
      assert.deepEqual(other.r.body.messages.map((m) => JSON.parse(m)), [[null, "hb", "phoenix", "phx_reply", ok({})]])
    })

    test("an ndjson POST of two JSON lines and one base64 binary line dispatches all three, in order", async (t) => {
      const s = session(t, h.app)
      const user = uid("nd")
      const lp = await s.lp({ user })
      const topic = room()
      const j = uid("j")
      assert.deepEqual(await lp.join(topic, {}, j), [j, j, topic, "phx_reply", ok({ topic, user })])
      // The binary line is a `count` push with a binary payload: its reply is
      // JSON, so it shows that the line was decoded and handled in its place.
      const binary = encodeBinaryPush(j, "b1", topic, "count", [1, 2, 3])
      const r = await lp.post([
        [j, "e1", topic, "echo", { first: true }],
        [j, "c1", topic, "count", {}],
        b64(binary),
      ])
      assertLPHeaders(r)
      assert.equal(r.text, '{"status":200}')
      assert.deepEqual(await lp.next(), [j, "e1", topic, "phx_reply", ok({ first: true })])
      assert.deepEqual(await lp.next(), [j, "c1", topic, "phx_reply", ok({ n: 2 })])
      assert.deepEqual(await lp.next(), [j, "b1", topic, "phx_reply", ok({ n: 3 })])

      // CRLF line ends and empty lines are accepted too.
      await lp.postOk([[j, "e2", topic, "echo", { crlf: 1 }], "", [j, "c2", topic, "count", {}]], { sep: "\r\n" })
      assert.deepEqual(await lp.next(), [j, "e2", topic, "phx_reply", ok({ crlf: 1 })])
      assert.deepEqual(await lp.next(), [j, "c2", topic, "phx_reply", ok({ n: 5 })])
    })

    test("a binary echo is handled and answered with an error reply, since LongPoll cannot carry its binary reply", async (t) => {
      const s = session(t, h.app)
      const user = uid("bin")
      const lp = await s.lp({ user })
      const topic = room()
      const j = uid("j")
      await lp.join(topic, {}, j)
      await lp.postOk([b64(encodeBinaryPush(j, "be", topic, "echo", [0, 255, 1])), [j, "c1", topic, "count", {}]])
      // Replies of one channel come in order: the echo's error, then count's.
      assert.deepEqual(await lp.next(), [j, "be", topic, "phx_reply", { response: { reason: "binary replies are not supported on this transport" }, status: "error" }])
      assert.deepEqual(await lp.next(), [j, "c1", topic, "phx_reply", ok({ n: 2 })])
      // The session goes on.
      await lp.postOk([[j, "e2", topic, "echo", { still: "here" }]])
      assert.deepEqual(await lp.next(), [j, "e2", topic, "phx_reply", ok({ still: "here" })])
    })

    for (const [name, bad] of [["a line that is neither JSON nor base64", "not base64!"], ["a JSON line that does not parse", "[not json"]]) {
      test(`${name} answers {status:400,error} in an HTTP 200; the lines before it are handled and the session keeps working`, async (t) => {
        const s = session(t, h.app)
        const user = uid("bad")
        const lp = await s.lp({ user })
        const topic = room()
        const j = uid("j")
        await lp.join(topic, {}, j)
        const r = await lp.post([[j, "before", topic, "echo", { before: 1 }], bad, [j, "after", topic, "echo", { after: 1 }]])
        assertLPHeaders(r)
        assert.equal(r.body && r.body.status, 400, r.text)
        assert.deepEqual(Object.keys(r.body).sort(), ["error", "status"])
        assert.match(r.body.error, /line 2/)
        assert.deepEqual(await lp.next(), [j, "before", topic, "phx_reply", ok({ before: 1 })])
        // The session keeps working; the line after the bad one was not
        // dispatched (documented in transport.LongPoll), so count is 2.
        await lp.postOk([[j, "c1", topic, "count", {}]])
        assert.deepEqual(await lp.next(), [j, "c1", topic, "phx_reply", ok({ n: 2 })])
        assert.equal(lp.frames.items.filter((f) => f[1] === "after").length, 0, "the line after the bad one was dispatched")
      })
    }

    test("a POST that is not ndjson is one text frame", async (t) => {
      const s = session(t, h.app)
      const user = uid("json")
      const lp = await s.lp({ user })
      const topic = room()
      const j = uid("j")
      await lp.postOk(JSON.stringify([j, j, topic, "phx_join", {}]), { contentType: "application/json" })
      assert.deepEqual(await lp.next(), [j, j, topic, "phx_reply", ok({ topic, user })])
    })

    for (const [name, vsn] of [["without vsn", null], ["with vsn=1.0.0", "1.0.0"]]) {
      test(`a session opened ${name} speaks V1 objects: one per POST, replies as {event,payload,ref,topic}`, async (t) => {
        const s = session(t, h.app)
        const user = uid("v1")
        const lp = await s.lp({ user, vsn })
        const topic = room()
        await lp.postOk(JSON.stringify({ topic, event: "phx_join", payload: {}, ref: "1", join_ref: "1" }), { contentType: "application/json" })
        await lp.postOk(JSON.stringify({ topic, event: "echo", payload: { v: 1 }, ref: "2" }), { contentType: "application/json" })
        const got = []
        for (let i = 0; i < 20 && got.length < 2; i++) {
          const r = await lp.poll()
          assert.ok([200, 204].includes(r.body.status), r.text)
          for (const m of r.body.messages || []) {
            assert.equal(typeof m, "string")
            const f = JSON.parse(m)
            if (!f.event.startsWith("presence_")) got.push(f)
          }
        }
        assert.deepEqual(got, [
          { topic, event: "phx_reply", payload: ok({ topic, user }), ref: "1" },
          { topic, event: "phx_reply", payload: ok({ v: 1 }), ref: "2" },
        ])
      })
    }

    test("OPTIONS answers the CORS preflight: 200, empty body, the allow headers", async () => {
      const res = await fetch(h.app.lpEndpoint({}), {
        method: "OPTIONS",
        headers: {
          origin: "http://elsewhere.test",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, x-phoenix-authtoken",
        },
      })
      assert.equal(res.status, 200)
      assert.equal(await res.text(), "")
      assert.equal(res.headers.get("access-control-allow-origin"), "*")
      assert.equal(res.headers.get("access-control-allow-headers"), "content-type, x-phoenix-authtoken")
      assert.equal(res.headers.get("access-control-allow-methods"), "get, post, options")
      assert.equal(res.headers.get("access-control-max-age"), "3600")
    })

    test("a method other than GET, POST and OPTIONS gets HTTP 400", async () => {
      const res = await fetch(h.app.lpEndpoint({ user: uid("put"), vsn: "2.0.0" }), { method: "PUT", body: "x" })
      assert.equal(res.status, 400)
      await res.text()
    })

    test("the x-phoenix-authtoken header reaches the app: the connect works and the session serves a join", async (t) => {
      const s = session(t, h.app)
      const user = uid("auth")
      const lp = await s.lp({ user }, { headers: { "x-phoenix-authtoken": "secret-tok", accept: "application/json" } })
      assertLPHeaders(lp.opened)
      const topic = room()
      const j = uid("j")
      assert.deepEqual(await lp.join(topic, {}, j), [j, j, topic, "phx_reply", ok({ topic, user })])
    })

    test("a user param named token before the session token: the session is the last token", async (t) => {
      const s = session(t, h.app)
      const user = uid("utok")
      // ?user=…&token=user-tok&vsn=2.0.0 opens; later requests append &token=<session>.
      const lp = await s.lp([["user", user], ["token", "user-tok"], ["vsn", "2.0.0"]])
      const url = new URL(lp.url())
      assert.deepEqual(url.searchParams.getAll("token"), ["user-tok", lp.token])
      const topic = room()
      const j = uid("j")
      assert.deepEqual(await lp.join(topic, {}, j), [j, j, topic, "phx_reply", ok({ topic, user })])
      await lp.postOk([[j, "e1", topic, "echo", { x: 1 }]])
      assert.deepEqual(await lp.next(), [j, "e1", topic, "phx_reply", ok({ x: 1 })])
    })

    test("the session token is also accepted in the x-phoenix-longpoll-token header, which wins over the query", async (t) => {
      const s = session(t, h.app)
      const user = uid("htok")
      const lp = await s.lp([["user", user], ["token", "user-tok"], ["vsn", "2.0.0"]])
      const other = await s.lp({ user: uid("other") })
      const topic = room()
      const j = uid("j")
      // The query's last token is another live session's; the header names ours.
      const headers = { "x-phoenix-longpoll-token": lp.token }
      const r = await lp.post([[j, j, topic, "phx_join", {}]], { url: lp.url(other.token), headers })
      assert.equal(r.text, '{"status":200}')
      const p = await lp.poll({ url: lp.url(null), headers })
      assert.equal(p.body.status, 200, p.text)
      assert.equal(p.body.token, lp.token)
      assert.deepEqual(JSON.parse(p.body.messages[0]), [j, j, topic, "phx_reply", ok({ topic, user })])
    })

    test("a POST without a valid session answers {status:410}", async () => {
      const url = h.app.lpEndpoint([["user", uid("nosess")], ["vsn", "2.0.0"], ["token", "not-a-session"]])
      const r = await lpRequest(url, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: '[null,"1","phoenix","heartbeat",{}]' })
      assertLPHeaders(r)
      assert.equal(r.text, '{"status":410}')
    })

    test("a GET with a token that is not a session's opens a new session", async () => {
      const url = h.app.lpEndpoint([["user", uid("forged")], ["vsn", "2.0.0"], ["token", "forged.123.abc"]])
      const r = await lpRequest(url)
      assertLPHeaders(r)
      assert.equal(r.body.status, 410, r.text)
      assert.notEqual(r.body.token, "forged.123.abc")
      assert.match(r.text, /^\{"messages":\[\],"status":410,"token":"[^"]+"\}$/)
    })

    for (const [name, params] of [["user missing", { vsn: "2.0.0" }], ["user=reject", { user: "reject", vsn: "2.0.0" }]]) {
      test(`a refused connect (${name}) answers {status:403} in an HTTP 200`, async () => {
        const r = await lpRequest(h.app.lpEndpoint(params))
        assertLPHeaders(r)
        assert.equal(r.text, '{"status":403}')
      })
    }

    test("a heartbeat is answered over LongPoll", async (t) => {
      const s = session(t, h.app)
      const lp = await s.lp({ user: uid("hb") })
      await lp.postOk([[null, "h1", "phoenix", "heartbeat", {}]])
      assert.deepEqual(await lp.next(), [null, "h1", "phoenix", "phx_reply", ok({})])
    })

    test("broadcasts reach a LongPoll session as [null,null,topic,event,payload]", async (t) => {
      const s = session(t, h.app)
      const lp = await s.lp({ user: uid("bc") })
      const topic = room()
      await lp.join(topic)
      await broadcast(h.app, topic, "announce", { to: "lp" })
      assert.deepEqual(await lp.next((f) => f[3] === "announce"), [null, null, topic, "announce", { to: "lp" }])
    })

    test("POST /api/disconnect ends the session: the waiting poll gets 410 with its token, and a POST gets 410", async (t) => {
      const s = session(t, h.app)
      const user = uid("gone")
      const lp = await s.lp({ user })
      // Two polls: one is answered 204 at once, which shows that both reached
      // the server and that the other is now the session's waiting poll.
      const a = lp.poll().then((r) => ({ who: "a", r }))
      const b = lp.poll().then((r) => ({ who: "b", r }))
      const first = await withTimeout(Promise.race([a, b]), 7000, "one of two polls to be answered")
      assert.equal(first.r.body.status, 204, first.r.text)
      const res = await postJSON(h.app, "/api/disconnect", { id: `users_socket:${user}` })
      assert.deepEqual(res.body, { ok: true })
      const { r } = await withTimeout(first.who === "a" ? b : a, 7000, "the waiting poll to be answered 410")
      assertLPHeaders(r)
      assert.equal(r.text, `{"messages":[],"status":410,"token":"${lp.token}"}`)
      const p = await lp.post([[null, "x", "phoenix", "heartbeat", {}]])
      assertLPHeaders(p)
      assert.equal(p.text, '{"status":410}')
      // A poll with the ended session's token starts a new session (phoenix.js
      // then reconnects, since it already had a token).
      const again = await lp.poll()
      assert.equal(again.body.status, 410, again.text)
      assert.notEqual(again.body.token, lp.token)
    })

    test("the app is still healthy after this group", async () => {
      await assertAlive(h.app)
    })
  })
})
