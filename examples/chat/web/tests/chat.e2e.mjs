// Browser end-to-end test of examples/chat: the built SPA (served by the Go
// server) in Debian's Chromium, driven by playwright-core.
//
//   CHAT_URL=http://127.0.0.1:4000 node --test tests/chat.e2e.mjs
//
// Environment:
//   CHAT_URL         the running chat server (default http://127.0.0.1:4000);
//                    loopback addresses only.
//   CHROMIUM_PATH    the browser (default /usr/bin/chromium, Debian's package).
//   CHAT_E2E_WAIT_MS how long to wait for anything the UI should show (default 10000).
//
// Screenshots go to tests/artifacts/ (gitignored); their paths are printed.
// Nothing sleeps to assert: every step waits for what it expects, with a timeout.

import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdirSync, writeFileSync, existsSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"

const here = path.dirname(fileURLToPath(import.meta.url))
const ARTIFACTS = path.join(here, "artifacts")
const CHAT_URL = (process.env.CHAT_URL || "http://127.0.0.1:4000").replace(/\/+$/, "")
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium"
const WAIT = Number(process.env.CHAT_E2E_WAIT_MS || 10_000)
/** The server pings every joined room channel every 5 s; the UI calls < 12 s healthy. */
const PING_WAIT = 13_000

const PASSWORD = "correct-horse-42"
/** The contract: validation errors are 400 problem+json with code validation_failed. */
const VALIDATION_STATUS = 422 // api answers validation errors with 422 validation_failed
const RUN = Math.random().toString(36).slice(2, 8).padEnd(6, "0")

function assertLoopback(u) {
  const host = new URL(u).hostname.replace(/^\[|\]$/g, "")
  const ok = host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host)
  if (!ok) throw new Error(`CHAT_URL must be a loopback address, got ${u}`)
}
assertLoopback(CHAT_URL)

/** A short unique name (letters and digits only, to suit any name rule). */
let nameSeq = 0
function uniqueName(prefix) {
  nameSeq++
  return `${prefix}${RUN}${nameSeq}`
}

// ---------------------------------------------------------------------------
// Browser

let browser
const shots = []

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  }
  // Fail early and clearly when there is no server.
  let res
  try {
    res = await fetch(`${CHAT_URL}/`, { signal: AbortSignal.timeout(5000) })
  } catch (err) {
    throw new Error(`the chat server does not answer at ${CHAT_URL}: ${err.message}`)
  }
  assert.equal(res.status, 200, `GET ${CHAT_URL}/ should serve index.html`)
  // launch() runs the browser on a fresh temporary user-data-dir that
  // Playwright deletes on close; each user is a separate context (own
  // cookies, sessionStorage and HTTP cache).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  })
})

after(async () => {
  await browser?.close()
  if (shots.length > 0) {
    writeFileSync(path.join(ARTIFACTS, "screenshots.txt"), shots.join("\n") + "\n")
    console.log(`screenshots (${shots.length}):\n${shots.map((s) => `  ${s}`).join("\n")}`)
  }
})

/** A user: one browser context (own cookies, storage and cache) with one page. */
async function newUser(label, { blockWebSocket = false } = {}) {
  const context = await browser.newContext({ baseURL: CHAT_URL, viewport: { width: 1100, height: 700 } })
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT)
  const log = []
  const wsUrls = []
  const longPollRequests = []
  page.on("console", (m) => log.push(`[console.${m.type()}] ${m.text()}`))
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.stack || e.message}`))
  page.on("requestfailed", (r) => log.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText}`))
  page.on("response", (r) => {
    if (r.status() >= 400) log.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`)
  })
  page.on("websocket", (ws) => {
    wsUrls.push(ws.url())
    log.push(`[websocket] ${ws.url()}`)
    ws.on("close", () => log.push(`[websocket closed] ${ws.url()}`))
  })
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/socket/longpoll") longPollRequests.push(`${r.method()} ${r.url()}`)
  })
  if (blockWebSocket) {
    // Simulates a network that blocks WebSockets: every WebSocket fails
    // before it opens (error, then close 1006), as behind a proxy that
    // refuses the upgrade. Phoenix then falls back to LongPoll.
    await context.addInitScript(() => {
      class BlockedWebSocket extends EventTarget {
        static CONNECTING = 0
        static OPEN = 1
        static CLOSING = 2
        static CLOSED = 3
        constructor(url, protocols) {
          super()
          this.url = String(url)
          this.protocol = ""
          this.readyState = 0
          this.bufferedAmount = 0
          this.binaryType = "blob"
          this.onopen = this.onerror = this.onclose = this.onmessage = null
          window.__blockedWebSockets = (window.__blockedWebSockets || 0) + 1
          void protocols
          setTimeout(() => {
            this.readyState = 3
            const err = new Event("error")
            this.onerror?.(err)
            this.dispatchEvent(err)
            const close = new CloseEvent("close", { code: 1006, reason: "", wasClean: false })
            this.onclose?.(close)
            this.dispatchEvent(close)
          }, 10)
        }
        send() {
          throw new DOMException("WebSocket is blocked", "InvalidStateError")
        }
        close() {
          this.readyState = 3
        }
      }
      window.WebSocket = BlockedWebSocket
    })
  }
  return { label, context, page, log, wsUrls, longPollRequests, name: "" }
}

async function shot(u, step) {
  const file = path.join(ARTIFACTS, `${u.label}-${String(shots.length + 1).padStart(2, "0")}-${step}.png`)
  await u.page.screenshot({ path: file, fullPage: true })
  shots.push(file)
  console.log(`screenshot: ${file}`)
  return file
}

async function closeUser(u, failed) {
  if (!u) return
  if (failed) {
    try {
      await shot(u, "failure")
    } catch {}
  }
  writeFileSync(path.join(ARTIFACTS, `${u.label}.log`), u.log.join("\n") + "\n")
  await u.context.close()
}

// ---------------------------------------------------------------------------
// UI steps

async function signup(u, name) {
  const { page } = u
  await page.goto("/")
  await page.getByTestId("login-name").fill(name)
  await page.getByTestId("login-password").fill(PASSWORD)
  const resp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/signup")
  await page.getByTestId("signup-submit").click()
  const r = await resp
  assert.equal(r.status(), 201, `POST /api/signup ${name}: want 201, got ${r.status()} ${await r.text()}`)
  const body = await r.json()
  assert.equal(typeof body.token, "string", "signup response has a string token")
  assert.equal(body.user?.name, name, "signup response has user.name")
  assert.ok(body.user?.id !== undefined, "signup response has user.id")
  await page.getByTestId("current-user").filter({ hasText: name }).waitFor()
  await page.getByTestId("room-list").waitFor({ state: "attached" })
  u.name = name
}

async function waitConnected(u, transport) {
  const status = u.page.getByTestId("connection-status")
  await u.page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  assert.equal((await status.textContent())?.trim(), "connected")
  if (transport) {
    await u.page.locator(`[data-testid="connection-status"][data-transport="${transport}"]`).waitFor()
  }
}

async function createRoom(u, roomName) {
  const { page } = u
  await page.getByTestId("room-create-name").fill(roomName)
  const resp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/rooms" && r.request().method() === "POST")
  await page.getByTestId("room-create-submit").click()
  const r = await resp
  assert.equal(r.status(), 201, `POST /api/rooms: want 201, got ${r.status()} ${await r.text()}`)
  const room = await r.json()
  assert.equal(room.name, roomName)
  assert.ok(room.id !== undefined && room.created_at !== undefined, "room has id and created_at")
  // Creating a room opens it.
  await page.waitForURL((url) => url.pathname === `/rooms/${encodeURIComponent(String(room.id))}`)
  return room
}

function roomLink(u, roomName) {
  return u.page.getByTestId("room-list").getByTestId("room-link").filter({ hasText: roomName })
}

async function openRoom(u, room) {
  await roomLink(u, room.name).click()
  await u.page.waitForURL((url) => url.pathname === `/rooms/${encodeURIComponent(String(room.id))}`)
  await waitJoined(u, room)
}

async function waitJoined(u, room) {
  await u.page.getByTestId("room-title").filter({ hasText: room.name }).waitFor()
  // Joined: our own presence shows up (presence_state after the join).
  await presenceEntry(u, u.name).waitFor()
}

function presenceEntry(u, name) {
  return u.page.getByTestId("presence-list").locator(`[data-testid="presence-user"][data-user="${name}"]`)
}

async function waitPresence(u, names) {
  for (const n of names) await presenceEntry(u, n).waitFor()
  // One entry per user name.
  await u.page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="presence-list"] [data-testid="presence-user"]').length === count,
    names.length,
    { timeout: WAIT },
  )
  const shown = await u.page.getByTestId("presence-user").allTextContents()
  assert.deepEqual(shown.map((s) => s.trim()).sort(), [...names].sort(), `${u.label} presence-list`)
}

/** A confirmed (not pending) message with exactly this user and body. */
function message(u, user, body) {
  const { page } = u
  return page
    .getByTestId("message-list")
    .locator('[data-testid="message"]:not(.pending):not(.failed)')
    .filter({ has: page.getByTestId("message-user").getByText(user, { exact: true }) })
    .filter({ has: page.getByTestId("message-body").getByText(body, { exact: true }) })
}

async function send(u, body, { enter = false } = {}) {
  const input = u.page.getByTestId("message-input")
  await input.fill(body)
  if (enter) await input.press("Enter")
  else await u.page.getByTestId("message-send").click()
  // Our own message: confirmed once (the push reply and the broadcast are deduped by id).
  await message(u, u.name, body).waitFor()
  assert.equal(await input.inputValue(), "", "the input is cleared after sending")
}

async function expectOnce(u, user, body) {
  await message(u, user, body).waitFor()
  assert.equal(await message(u, user, body).count(), 1, `${u.label}: "${body}" from ${user} shown once`)
}

// ---------------------------------------------------------------------------
// Tests

test("assets are served precompressed (brotli, else gzip) with immutable caching", async () => {
  const html = await (await fetch(`${CHAT_URL}/`, { signal: AbortSignal.timeout(5000) })).text()
  const js = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
  assert.ok(js, `no hashed script in index.html: ${html.slice(0, 200)}`)
  for (const [accept, encoding] of [["br, gzip", "br"], ["gzip", "gzip"], ["identity", null]]) {
    const res = await fetch(`${CHAT_URL}${js}`, { headers: { "Accept-Encoding": accept }, signal: AbortSignal.timeout(5000) })
    await res.arrayBuffer()
    assert.equal(res.status, 200)
    assert.equal(res.headers.get("content-encoding"), encoding, `Accept-Encoding: ${accept}`)
    assert.match(res.headers.get("cache-control") ?? "", /immutable/)
  }
})

test("two users chat over WebSocket: live room list, presence, messages both ways, history after reload, typing, pings", async () => {
  let ann, bob
  let failed = true
  try {
    ann = await newUser("ws-ann")
    bob = await newUser("ws-bob")
    await signup(ann, uniqueName("ann"))
    await signup(bob, uniqueName("bob"))
    await waitConnected(ann, "websocket")
    await waitConnected(bob, "websocket")
    assert.ok(ann.wsUrls.some((u) => new URL(u).pathname === "/socket/websocket"), "ann uses /socket/websocket")
    assert.ok(!ann.wsUrls.some((u) => /token/.test(new URL(u).search)), "the API token is not in the WebSocket URL")
    await shot(ann, "signed-up")

    // ann creates a room; bob's list shows it live (room_created on "rooms").
    const room = await createRoom(ann, uniqueName("room"))
    await waitJoined(ann, room)
    await roomLink(bob, room.name).waitFor()
    await shot(bob, "room-list-live")

    // Both in the room, and each sees the other in presence-list.
    await openRoom(bob, room)
    await waitPresence(ann, [ann.name, bob.name])
    await waitPresence(bob, [ann.name, bob.name])
    await shot(ann, "presence")

    // Messages both ways: button on one side, Enter on the other.
    const m1 = `hello from ${ann.name}`
    const m2 = `hi ${ann.name}, ${bob.name} here`
    await send(ann, m1)
    await expectOnce(bob, ann.name, m1)
    await send(bob, m2, { enter: true })
    await expectOnce(ann, bob.name, m2)
    await expectOnce(ann, ann.name, m1)
    await expectOnce(bob, bob.name, m2)
    await shot(ann, "messages")
    await shot(bob, "messages")

    // The server's health ping reaches the room (every 5 s).
    await ann.page.locator('[data-testid="connection-status"][data-health="ok"]').waitFor({ timeout: PING_WAIT })
    const title = await ann.page.getByTestId("connection-status").getAttribute("title")
    assert.match(title ?? "", /last server ping \d+ s ago/)

    // bob reloads: same route, history from the API, still signed in (sessionStorage).
    const historyResp = bob.page.waitForResponse(
      (r) => /^\/api\/rooms\/[^/]+\/messages$/.test(new URL(r.url()).pathname) && r.request().method() === "GET",
    )
    await bob.page.reload()
    const hr = await historyResp
    assert.equal(hr.status(), 200, `GET ${hr.url()}: want 200, got ${hr.status()}`)
    const history = await hr.json()
    assert.ok(Array.isArray(history.items), "history has items[]")
    assert.ok("next" in history, "history has next")
    const bodies = history.items.map((m) => m.body)
    assert.deepEqual(bodies.slice(0, 2), [m2, m1], "history is newest first")
    for (const m of history.items) {
      for (const k of ["id", "room_id", "user", "body", "inserted_at"]) assert.ok(k in m, `history item has ${k}`)
    }
    assert.equal(new URL(bob.page.url()).pathname, `/rooms/${encodeURIComponent(String(room.id))}`, "reload keeps the route")
    await expectOnce(bob, ann.name, m1)
    await expectOnce(bob, bob.name, m2)
    // Order on screen: oldest first.
    const onScreen = (await bob.page.getByTestId("message-body").allTextContents()).map((s) => s.trim())
    assert.ok(onScreen.indexOf(m1) < onScreen.indexOf(m2), "messages are shown oldest first")
    await waitJoined(bob, room)
    await waitPresence(ann, [ann.name, bob.name])
    await waitPresence(bob, [ann.name, bob.name])
    await shot(bob, "after-reload")

    // Typing indicator: bob types, ann sees it; bob clears the input, it goes.
    await bob.page.getByTestId("message-input").pressSequentially("typing some", { delay: 20 })
    await ann.page.getByTestId("typing-indicator").filter({ hasText: `${bob.name} is typing…` }).waitFor()
    assert.equal((await bob.page.getByTestId("typing-indicator").textContent())?.trim(), "", "no indicator for oneself")
    await shot(ann, "typing")
    await bob.page.getByTestId("message-input").fill("")
    await ann.page.waitForFunction(() => document.querySelector('[data-testid="typing-indicator"]')?.textContent === "")

    // After the reload, messages still flow both ways.
    const m3 = `after reload ${bob.name}`
    await send(bob, m3)
    await expectOnce(ann, bob.name, m3)
    const m4 = `welcome back ${bob.name}`
    await send(ann, m4, { enter: true })
    await expectOnce(bob, ann.name, m4)
    await shot(bob, "final")
    failed = false
  } finally {
    await closeUser(ann, failed)
    await closeUser(bob, failed)
  }
})

test("WebSocket blocked: phoenix falls back to LongPoll and messages flow both ways with a WebSocket user", async () => {
  let lp, ws
  let failed = true
  try {
    lp = await newUser("lp-cat", { blockWebSocket: true })
    ws = await newUser("lp-dan")
    await signup(lp, uniqueName("cat"))
    await signup(ws, uniqueName("dan"))
    await waitConnected(lp, "longpoll")
    await waitConnected(ws, "websocket")
    assert.ok((await lp.page.evaluate(() => window.__blockedWebSockets)) >= 1, "the page tried a WebSocket first")
    assert.equal(
      await lp.page.evaluate(() => sessionStorage.getItem("phx:fallback:LongPoll")),
      "true",
      "phoenix memorized the LongPoll fallback",
    )
    assert.ok(lp.longPollRequests.length > 0, "LongPoll requests were made")
    assert.equal(ws.longPollRequests.length, 0, "the WebSocket user made no LongPoll request")

    const room = await createRoom(lp, uniqueName("lproom"))
    await waitJoined(lp, room)
    await roomLink(ws, room.name).waitFor()
    await openRoom(ws, room)
    await waitPresence(lp, [lp.name, ws.name])
    await waitPresence(ws, [lp.name, ws.name])

    const a = `over longpoll from ${lp.name}`
    const b = `over websocket from ${ws.name}`
    await send(lp, a)
    await expectOnce(ws, lp.name, a)
    await send(ws, b, { enter: true })
    await expectOnce(lp, ws.name, b)
    // Typing and pings arrive over LongPoll too.
    await ws.page.getByTestId("message-input").pressSequentially("hmm", { delay: 20 })
    await lp.page.getByTestId("typing-indicator").filter({ hasText: `${ws.name} is typing…` }).waitFor()
    await lp.page.locator('[data-testid="connection-status"][data-health="ok"]').waitFor({ timeout: PING_WAIT })
    await shot(lp, "longpoll-chat")
    await shot(ws, "websocket-chat")
    const posts = lp.longPollRequests.filter((r) => r.startsWith("POST "))
    assert.ok(posts.length > 0, "LongPoll POSTs carried the pushes")
    failed = false
  } finally {
    await closeUser(lp, failed)
    await closeUser(ws, failed)
  }
})

test("error paths: bad login, taken name, validation, duplicate room, unknown room, expired token", async () => {
  let u
  let failed = true
  try {
    u = await newUser("errors")
    const { page } = u
    const name = uniqueName("eve")
    await signup(u, name)

    // API contract checks made directly (problem+json bodies).
    const api = u.context.request
    const v = await api.post("/api/signup", { data: { name: "", password: "" } })
    assert.equal(v.status(), VALIDATION_STATUS, `POST /api/signup {name:"",password:""}: want ${VALIDATION_STATUS}, got ${v.status()}`)
    const vb = await v.json()
    assert.equal(vb.code, "validation_failed")
    assert.ok(Array.isArray(vb.errors) && vb.errors.every((e) => typeof e.field === "string" && typeof e.message === "string"),
      `validation errors are [{field,message}]: ${JSON.stringify(vb)}`)
    assert.match(v.headers()["content-type"] ?? "", /application\/problem\+json/)

    // Room name taken.
    const roomName = uniqueName("dup")
    const room = await createRoom(u, roomName)
    await waitJoined(u, room)
    await page.getByTestId("room-create-name").fill(roomName)
    const dupResp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/rooms" && r.request().method() === "POST")
    await page.getByTestId("room-create-submit").click()
    const dr = await dupResp
    assert.equal(dr.status(), 409, `POST /api/rooms duplicate: want 409, got ${dr.status()}`)
    assert.equal((await dr.json()).code, "room_exists")
    await page.getByTestId("room-create-error").filter({ hasText: "already exists" }).waitFor()

    // A room that does not exist: the join answers {"reason":"not found"}.
    await page.evaluate(() => window.__chat.navigate("/rooms/999999999"))
    await page.getByTestId("room-error").filter({ hasText: "does not exist" }).waitFor()
    await shot(u, "unknown-room")

    // Log out, then: wrong password, taken name.
    await page.getByTestId("logout").click()
    await page.getByTestId("login-name").fill(name)
    await page.getByTestId("login-password").fill("wrong-password-1")
    const loginResp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/login")
    await page.getByTestId("login-submit").click()
    const lr = await loginResp
    assert.equal(lr.status(), 401, `POST /api/login wrong password: want 401, got ${lr.status()}`)
    assert.equal((await lr.json()).code, "invalid_credentials")
    await page.getByTestId("login-error").filter({ hasText: "Wrong name or password" }).waitFor()

    await page.getByTestId("login-password").fill(PASSWORD)
    const takenResp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/signup")
    await page.getByTestId("signup-submit").click()
    const tr = await takenResp
    assert.equal(tr.status(), 409, `POST /api/signup taken name: want 409, got ${tr.status()}`)
    assert.equal((await tr.json()).code, "name_taken")
    await page.getByTestId("login-error").filter({ hasText: "taken" }).waitFor()
    await shot(u, "login-errors")

    // Log in works, on Enter too.
    await page.getByTestId("login-password").fill(PASSWORD)
    await page.getByTestId("login-password").press("Enter")
    await page.getByTestId("current-user").filter({ hasText: name }).waitFor()

    // A token the server does not know: any API call answers 401 and the app
    // returns to the login screen.
    await page.evaluate(() => {
      const key = "suzaku-chat:session"
      const s = JSON.parse(sessionStorage.getItem(key))
      s.token = "not-a-valid-token"
      sessionStorage.setItem(key, JSON.stringify(s))
    })
    const unauth = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/rooms" && r.status() === 401)
    await page.reload()
    await unauth
    await page.getByTestId("login-error").filter({ hasText: "session has expired" }).waitFor()
    failed = false
  } finally {
    await closeUser(u, failed)
  }
})

test("history pagination: 'load older' follows the cursor until next is null", async () => {
  let u
  let failed = true
  try {
    u = await newUser("history")
    const { page } = u
    await signup(u, uniqueName("hal"))
    const room = await createRoom(u, uniqueName("hist"))
    await waitJoined(u, room)
    const total = 55
    const input = page.getByTestId("message-input")
    for (let i = 1; i <= total; i++) {
      await input.fill(`msg ${i}`)
      await input.press("Enter")
    }
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="message"]:not(.pending):not(.failed)').length === n,
      total,
      { timeout: 3 * WAIT },
    )

    const isHistory = (r) => /^\/api\/rooms\/[^/]+\/messages$/.test(new URL(r.url()).pathname) && r.request().method() === "GET"
    const firstResp = page.waitForResponse(isHistory)
    await page.reload()
    const r1 = await firstResp
    assert.equal(r1.status(), 200)
    assert.equal(new URL(r1.url()).searchParams.get("limit"), "50")
    const p1 = await r1.json()
    assert.equal(p1.items.length, 50, "first page: 50 items")
    assert.equal(typeof p1.next, "string", `first page: next is a cursor, got ${JSON.stringify(p1.next)}`)
    assert.equal(p1.items[0].body, `msg ${total}`, "first page starts with the newest")
    assert.equal(p1.items[49].body, `msg ${total - 49}`)
    await page.getByTestId("load-older").waitFor()
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length === 50)
    await shot(u, "history-first-page")

    const secondResp = page.waitForResponse(isHistory)
    await page.getByTestId("load-older").click()
    const r2 = await secondResp
    assert.equal(new URL(r2.url()).searchParams.get("cursor"), p1.next, "load older sends the cursor")
    const p2 = await r2.json()
    assert.deepEqual(
      p2.items.map((m) => m.body),
      Array.from({ length: total - 50 }, (_, i) => `msg ${total - 50 - i}`),
      "second page: the rest, newest first",
    )
    assert.equal(p2.next, null, "last page: next is null")
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="message"]').length === n, total)
    await page.getByTestId("load-older").waitFor({ state: "hidden" })
    const bodies = (await page.getByTestId("message-body").allTextContents()).map((s) => s.trim())
    assert.deepEqual(bodies, Array.from({ length: total }, (_, i) => `msg ${i + 1}`), "all messages, oldest first")
    await shot(u, "history-all")
    failed = false
  } finally {
    await closeUser(u, failed)
  }
})

test("connection status: offline and back, with the banner", async () => {
  let u
  let failed = true
  try {
    u = await newUser("status")
    const { page } = u
    await signup(u, uniqueName("sam"))
    await waitConnected(u, "websocket")
    assert.equal(await page.getByTestId("reconnect-banner").isVisible(), false, "no banner while connected")
    await u.context.setOffline(true)
    await page.locator('[data-testid="connection-status"][data-status="offline"]').waitFor()
    assert.equal((await page.getByTestId("connection-status").textContent())?.trim(), "offline")
    await page.getByTestId("reconnect-banner").waitFor()
    await shot(u, "offline")
    await u.context.setOffline(false)
    await waitConnected(u)
    await page.getByTestId("reconnect-banner").waitFor({ state: "hidden" })
    failed = false
  } finally {
    await closeUser(u, failed)
  }
})

// A tab that loses its network and comes back shows every message sent
// meanwhile, once each and in order, from the room's stream (the rejoin
// carries the tab's last offset; the server replays what it missed), with
// no history request over HTTP. Over WebSocket and over LongPoll.
for (const transport of ["websocket", "longpoll"]) {
  test(`offline and back over ${transport}: every missed message once, in order, without a history reload`, async () => {
    let tab, other
    let failed = true
    try {
      tab = await newUser(`recover-${transport}`, { blockWebSocket: transport === "longpoll" })
      other = await newUser(`recover-${transport}-sender`)
      await signup(tab, uniqueName("tia"))
      await signup(other, uniqueName("oli"))
      await waitConnected(tab, transport)
      await waitConnected(other, "websocket")
      const room = await createRoom(tab, uniqueName("recroom"))
      await waitJoined(tab, room)
      await roomLink(other, room.name).waitFor()
      await openRoom(other, room)
      const first = `before the outage from ${other.name}`
      await send(other, first)
      await expectOnce(tab, other.name, first)

      const history = []
      tab.page.on("request", (r) => {
        if (/^\/api\/rooms\/[^/]+\/messages$/.test(new URL(r.url()).pathname)) history.push(r.url())
      })
      // Cut the tab off: no request gets through, and its socket is
      // closed, so that nothing reaches it until it reconnects.
      await tab.context.setOffline(true)
      await tab.page.locator('[data-testid="connection-status"][data-status="offline"]').waitFor()

      const missed = Array.from({ length: 6 }, (_, i) => `missed ${i + 1} from ${other.name}`)
      for (const body of missed) await send(other, body)
      assert.equal(await message(tab, other.name, missed[0]).count(), 0, "the offline tab got nothing yet")

      await tab.context.setOffline(false)
      await waitConnected(tab, transport)
      for (const body of missed) await expectOnce(tab, other.name, body)
      const shown = (await tab.page.getByTestId("message-body").allTextContents()).map((s) => s.trim())
      assert.deepEqual(shown.filter((b) => b.includes(other.name)), [first, ...missed], "every message once, in order")
      assert.deepEqual(history, [], "no history request: the stream recovered the missed messages")
      await shot(tab, `recovered-${transport}`)
      failed = false
    } finally {
      await closeUser(tab, failed)
      await closeUser(other, failed)
    }
  })
}
