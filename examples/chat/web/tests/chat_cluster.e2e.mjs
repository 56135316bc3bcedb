// Two chat nodes, one chat: the built SPA in Debian's Chromium, one user on
// each node of a two-node cluster (same database, same broker), driven by
// playwright-core. They see each other's rooms, presence, messages and
// typing, across the nodes.
//
//   CHAT_URLS=http://127.0.0.1:4001,http://127.0.0.1:4002 node --test tests/chat_cluster.e2e.mjs
//
// tests/run.sh starts the two nodes (over Redis) and runs this file.
// Environment: CHAT_URLS (two loopback URLs), CHROMIUM_PATH, CHAT_E2E_WAIT_MS.

import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdirSync, writeFileSync, existsSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"

const here = path.dirname(fileURLToPath(import.meta.url))
const ARTIFACTS = path.join(here, "artifacts")
const URLS = (process.env.CHAT_URLS || "").split(",").map((u) => u.trim().replace(/\/+$/, "")).filter(Boolean)
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium"
const WAIT = Number(process.env.CHAT_E2E_WAIT_MS || 10_000)
const PASSWORD = "correct-horse-42"
const RUN = Math.random().toString(36).slice(2, 8).padEnd(6, "0")

let seq = 0
const uniqueName = (prefix) => `${prefix}${RUN}${++seq}`

let browser

before(async () => {
  if (URLS.length !== 2) throw new Error(`CHAT_URLS must name two chat nodes, got ${JSON.stringify(process.env.CHAT_URLS)}`)
  for (const u of URLS) {
    const host = new URL(u).hostname
    if (!(host === "localhost" || /^127(\.\d{1,3}){3}$/.test(host))) throw new Error(`CHAT_URLS must be loopback, got ${u}`)
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  mkdirSync(ARTIFACTS, { recursive: true })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
  })
})

after(async () => { await browser?.close() })

/** A user of node url: one browser context with one page. */
async function newUser(label, url) {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1100, height: 700 } })
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT)
  const log = []
  page.on("console", (m) => log.push(`[console.${m.type()}] ${m.text()}`))
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.stack || e.message}`))
  page.on("websocket", (ws) => log.push(`[websocket] ${ws.url()}`))
  return { label, url, context, page, log, name: "" }
}

async function closeUser(u, failed) {
  if (!u) return
  if (failed) {
    const file = path.join(ARTIFACTS, `cluster-${u.label}-failure.png`)
    await u.page.screenshot({ path: file, fullPage: true }).catch(() => {})
    console.log(`screenshot: ${file}`)
  }
  writeFileSync(path.join(ARTIFACTS, `cluster-${u.label}.log`), u.log.join("\n") + "\n")
  await u.context.close()
}

async function signup(u, name) {
  const { page } = u
  await page.goto("/")
  await page.getByTestId("login-name").fill(name)
  await page.getByTestId("login-password").fill(PASSWORD)
  const resp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/signup")
  await page.getByTestId("signup-submit").click()
  assert.equal((await resp).status(), 201, `signup of ${name} on ${u.url}`)
  await page.getByTestId("current-user").filter({ hasText: name }).waitFor()
  u.name = name
}

async function login(u, name) {
  const { page } = u
  await page.goto("/")
  await page.getByTestId("login-name").fill(name)
  await page.getByTestId("login-password").fill(PASSWORD)
  const resp = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/login")
  await page.getByTestId("login-submit").click()
  assert.equal((await resp).status(), 200, `login of ${name} on ${u.url} (an account made on the other node)`)
  await page.getByTestId("current-user").filter({ hasText: name }).waitFor()
  u.name = name
}

const roomLink = (u, name) => u.page.getByTestId("room-list").getByTestId("room-link").filter({ hasText: name })
const presenceEntry = (u, name) => u.page.getByTestId("presence-list").locator(`[data-testid="presence-user"][data-user="${name}"]`)

async function waitPresence(u, names) {
  for (const n of names) await presenceEntry(u, n).waitFor()
  await u.page.waitForFunction(
    (count) => document.querySelectorAll('[data-testid="presence-list"] [data-testid="presence-user"]').length === count,
    names.length, { timeout: WAIT })
}

function message(u, user, body) {
  const { page } = u
  return page.getByTestId("message-list")
    .locator('[data-testid="message"]:not(.pending):not(.failed)')
    .filter({ has: page.getByTestId("message-user").getByText(user, { exact: true }) })
    .filter({ has: page.getByTestId("message-body").getByText(body, { exact: true }) })
}

async function send(u, body) {
  await u.page.getByTestId("message-input").fill(body)
  await u.page.getByTestId("message-input").press("Enter")
  await message(u, u.name, body).waitFor()
}

async function expectOnce(u, user, body) {
  await message(u, user, body).waitFor()
  assert.equal(await message(u, user, body).count(), 1, `${u.label}: "${body}" from ${user} shown once`)
}

test("a user on each node: rooms, presence, messages and typing cross the nodes", async () => {
  let ann, bob
  let failed = true
  try {
    ann = await newUser("ann", URLS[0])
    bob = await newUser("bob", URLS[1])
    await signup(ann, uniqueName("ann"))
    // bob's account is made on node A and used on node B: one database, one token secret.
    const bobName = uniqueName("bob")
    const made = await fetch(`${URLS[0]}/api/signup`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: bobName, password: PASSWORD }),
    })
    assert.equal(made.status, 201, `signup of ${bobName} on node A: ${await made.text()}`)
    await login(bob, bobName)
    for (const u of [ann, bob]) {
      await u.page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
    }

    // ann creates a room on node A; bob's room list on node B shows it live.
    const roomName = uniqueName("room")
    await ann.page.getByTestId("room-create-name").fill(roomName)
    const created = ann.page.waitForResponse((r) => new URL(r.url()).pathname === "/api/rooms" && r.request().method() === "POST")
    await ann.page.getByTestId("room-create-submit").click()
    assert.equal((await created).status(), 201)
    await presenceEntry(ann, ann.name).waitFor()
    await roomLink(bob, roomName).waitFor()

    // bob joins on node B: each sees the other in the room's presence.
    await roomLink(bob, roomName).click()
    await waitPresence(bob, [ann.name, bob.name])
    await waitPresence(ann, [ann.name, bob.name])

    // Messages both ways, once each.
    const m1 = `from node A ${ann.name}`
    const m2 = `from node B ${bob.name}`
    await send(ann, m1)
    await expectOnce(bob, ann.name, m1)
    await send(bob, m2)
    await expectOnce(ann, bob.name, m2)
    await expectOnce(ann, ann.name, m1)
    await expectOnce(bob, bob.name, m2)

    // Typing crosses too.
    await bob.page.getByTestId("message-input").pressSequentially("typing", { delay: 20 })
    await ann.page.getByTestId("typing-indicator").filter({ hasText: `${bob.name} is typing…` }).waitFor()
    await bob.page.getByTestId("message-input").fill("")

    // bob leaves the room (back to the list): ann's presence drops him.
    await bob.page.evaluate(() => window.__chat.navigate("/"))
    await waitPresence(ann, [ann.name])
    const file = path.join(ARTIFACTS, "cluster-ann-final.png")
    await ann.page.screenshot({ path: file, fullPage: true })
    console.log(`screenshot: ${file}`)
    failed = false
  } finally {
    await closeUser(ann, failed)
    await closeUser(bob, failed)
  }
})
