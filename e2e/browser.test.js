// The phoenix client in a real Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) whose WebSocket is blocked: with longPollFallbackMs the
// client falls back to LongPoll (docs/protocol.md §5.6), remembers it in
// sessionStorage, and messages still flow both ways, to and from a Node client
// on WebSocket. The page is served same-origin by pageserver.js, which also
// proxies /socket and /api to the app.
//
// Without chromium the test fails when CI is set, and is skipped otherwise.
// SUZAKU_E2E_CHROMIUM overrides the browser's path.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdirSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { useApp, session, uid, joinOk, pushOk, waitEvent, broadcast, WEBSOCKET } from "./harness.js"
import { startPageServer } from "./pageserver.js"

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
const artifacts = process.env.SUZAKU_E2E_LOGS || path.join(e2eDir, "artifacts")
const chromiumPath = process.env.SUZAKU_E2E_CHROMIUM || "/usr/bin/chromium"
const haveChromium = existsSync(chromiumPath)
const inCI = Boolean(process.env.CI)
const missing = `chromium not found at ${chromiumPath} (Debian: apt-get install -y chromium)`

// Generous: a loaded 2-core machine starts a browser slowly.
const PAGE_WAIT_MS = 20000

const html = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>suzaku e2e: LongPoll fallback</title>
<style>
  body { font: 14px/1.4 sans-serif; margin: 24px; }
  #transport { font-weight: bold; }
  pre { background: #f4f4f4; padding: 8px; }
</style></head>
<body>
  <h1>suzaku e2e: WebSocket blocked, phoenix falls back to LongPoll</h1>
  <p>transport: <span id="transport">none</span></p>
  <pre id="log"></pre>
  <script type="module">
    import { Socket, LongPoll } from "/phoenix.mjs"
    window.phx = { Socket, LongPoll }
    window.log = (line) => { document.getElementById("log").textContent += line + "\\n" }
    window.phxReady = true
  </script>
</body>
</html>`

// blockWebSocket replaces window.WebSocket, before any page script runs, with
// one that fails at once as a blocked connection does (error, then close 1006).
function blockWebSocket() {
  window.__wsAttempts = []
  class BlockedWebSocket {
    constructor(url) {
      window.__wsAttempts.push(String(url))
      this.url = String(url)
      this.protocol = ""
      this.readyState = 0
      this.bufferedAmount = 0
      this.binaryType = "blob"
      this.onopen = this.onerror = this.onclose = this.onmessage = null
      setTimeout(() => {
        this.readyState = 3
        if (this.onerror) this.onerror(new Event("error"))
        if (this.onclose) this.onclose(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }))
      }, 0)
    }
    send() { throw new DOMException("WebSocket is blocked", "InvalidStateError") }
    close() {}
    addEventListener() {}
    removeEventListener() {}
  }
  Object.assign(BlockedWebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })
  window.WebSocket = BlockedWebSocket
}

const h = useApp({ before, after }, "browser")

describe("browser", () => {
  let pages = null
  before(async () => { pages = await startPageServer(h.app, { html }) })
  after(async () => { if (pages) await pages.close() })

  test("in Chromium with WebSocket blocked, phoenix falls back to LongPoll and messages flow both ways",
    { skip: !haveChromium && !inCI ? `${missing}; skipped (CI=true makes this a failure)` : false, timeout: 90000 },
    async (t) => {
      assert.ok(haveChromium, `${missing}: CI must install it`)
      const { chromium } = await import("playwright-core")
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
          "--no-first-run", "--disable-component-update", "--disable-sync"],
        timeout: 60000,
      })
      t.after(() => browser.close())
      const context = await browser.newContext()
      const page = await context.newPage()
      const pageErrors = []
      page.on("pageerror", (err) => pageErrors.push(String(err)))
      await page.addInitScript(blockWebSocket)
      await page.goto(pages.url, { timeout: PAGE_WAIT_MS })
      await page.waitForFunction(() => window.phxReady === true, null, { timeout: PAGE_WAIT_MS })
      // A fresh context: nothing remembered yet.
      assert.equal(await page.evaluate(() => sessionStorage.getItem("phx:fallback:LongPoll")), null)

      const user = uid("page")
      const topic = `room:${uid("browser")}`
      await page.evaluate(({ user }) => {
        const socket = new window.phx.Socket("/socket", { params: { user }, longPollFallbackMs: 2500 })
        window.t = { socket, events: [] }
        socket.onOpen(() => {
          const name = socket.transport === window.phx.LongPoll ? "LongPoll" : "WebSocket"
          document.getElementById("transport").textContent = name
          window.log(`open over ${name}`)
        })
        socket.onError(() => window.log("socket error"))
        socket.connect()
      }, { user })

      // The blocked WebSocket errors, and the client goes on over LongPoll.
      await page.waitForFunction(() => window.t.socket.isConnected() && window.t.socket.transport === window.phx.LongPoll,
        null, { timeout: PAGE_WAIT_MS })
      await page.waitForFunction(() => sessionStorage.getItem("phx:fallback:LongPoll") === "true", null, { timeout: PAGE_WAIT_MS })
      const state = await page.evaluate(() => ({
        longpoll: window.t.socket.transport === window.phx.LongPoll,
        connected: window.t.socket.isConnected(),
        remembered: sessionStorage.getItem("phx:fallback:LongPoll"),
        wsAttempts: window.__wsAttempts,
      }))
      const { wsAttempts, ...socketState } = state
      assert.deepEqual(socketState, { longpoll: true, connected: true, remembered: "true" })
      assert.ok(wsAttempts.length >= 1, "the client never tried WebSocket")
      assert.match(wsAttempts[0], new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/socket/websocket\\?user=${user}&vsn=2\\.0\\.0$`))

      // A join and a push with its reply, over LongPoll.
      const joined = await page.evaluate(({ topic }) => new Promise((resolve) => {
        const ch = window.t.socket.channel(topic, {})
        window.t.ch = ch
        for (const ev of ["new_msg", "announce"]) {
          ch.on(ev, (p) => { window.t.events.push([ev, p]); window.log(`${ev} ${JSON.stringify(p)}`) })
        }
        ch.join()
          .receive("ok", (r) => { window.log(`joined ${topic}`); resolve({ status: "ok", response: r }) })
          .receive("error", (r) => resolve({ status: "error", response: r }))
          .receive("timeout", () => resolve({ status: "timeout" }))
      }), { topic })
      assert.deepEqual(joined, { status: "ok", response: { topic, user } })

      const pagePush = (event, payload) => page.evaluate(({ event, payload }) => new Promise((resolve) => {
        window.t.ch.push(event, payload)
          .receive("ok", (r) => resolve({ status: "ok", response: r }))
          .receive("error", (r) => resolve({ status: "error", response: r }))
          .receive("timeout", () => resolve({ status: "timeout" }))
      }), { event, payload })
      assert.deepEqual(await pagePush("echo", { from: "page", n: [1, 2] }), { status: "ok", response: { from: "page", n: [1, 2] } })

      // A Node client over WebSocket on the same topic.
      const s = session(t, h.app, WEBSOCKET)
      const nodeUser = uid("node")
      const sock = await s.connected(nodeUser)
      const ch = sock.channel(topic)
      await joinOk(ch)

      // Node → page: a broadcast from the other client reaches the page.
      await pushOk(ch, "new_msg", { body: "from node" })
      await page.waitForFunction((u) => window.t.events.some(([ev, p]) => ev === "new_msg" && p.body === "from node" && p.user === u),
        nodeUser, { timeout: PAGE_WAIT_MS })

      // Page → Node: the page's new_msg reaches the Node client.
      const atNode = waitEvent(ch, "new_msg", (p) => p.body === "from page", PAGE_WAIT_MS)
      assert.deepEqual(await pagePush("new_msg", { body: "from page" }), { status: "ok", response: { body: "from page" } })
      assert.deepEqual(await atNode, { user, body: "from page" })

      // And an API broadcast reaches both.
      const apiAtNode = waitEvent(ch, "announce", () => true, PAGE_WAIT_MS)
      await broadcast(h.app, topic, "announce", { to: "everyone" })
      await page.waitForFunction(() => window.t.events.some(([ev, p]) => ev === "announce" && p.to === "everyone"), null, { timeout: PAGE_WAIT_MS })
      assert.deepEqual(await apiAtNode, { to: "everyone" })

      // The proxy saw LongPoll traffic and no WebSocket upgrade from the page.
      assert.deepEqual(pages.upgrades, [], "the page opened a WebSocket")
      assert.ok(pages.requests.some((r) => r.method === "GET" && r.path.startsWith("/socket/longpoll?")), "no LongPoll poll went through the proxy")
      assert.ok(pages.requests.some((r) => r.method === "POST" && r.path.startsWith("/socket/longpoll?")), "no LongPoll POST went through the proxy")
      assert.deepEqual(pageErrors, [], "the page threw")

      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: path.join(artifacts, "browser-longpoll-fallback.png"), fullPage: true })
      await page.evaluate(() => window.t.socket.disconnect())
      await context.close()
    })
})
