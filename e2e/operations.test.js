// Operations (examples/conformance/README.md, "Operations"): GET /metrics counts what the
// official phoenix client did, exactly once at rest; /healthz and /readyz
// answer, and /readyz turns 503 while the app drains after SIGTERM. Then the
// live dashboard (/ops/, behind Basic credentials) in a real Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core): it renders, its
// figures move under load, and a screenshot lands in e2e/artifacts.
//
// Without chromium the browser test fails when CI is set, and is skipped
// otherwise. SUZAKU_E2E_CHROMIUM overrides the browser's path.

import { describe, test, before, after } from "node:test"
import assert from "node:assert/strict"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startApp, session, uid, joinOk, pushOk, withTimeout, WEBSOCKET, LONGPOLL } from "./harness.js"

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
const artifacts = process.env.SUZAKU_E2E_LOGS || path.join(e2eDir, "artifacts")
const chromiumPath = process.env.SUZAKU_E2E_CHROMIUM || "/usr/bin/chromium"
const haveChromium = existsSync(chromiumPath)
const inCI = Boolean(process.env.CI)
const missing = `chromium not found at ${chromiumPath} (Debian: apt-get install -y chromium)`
const PASSWORD = "e2e-dashboard-password"
const PAGE_WAIT_MS = 20000

async function scrape(app) {
  const res = await fetch(`${app.httpURL}/metrics`)
  assert.equal(res.status, 200)
  const out = new Map()
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue
    const i = line.lastIndexOf(" ")
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

// eventually polls the exposition until every sample has its value.
async function expectMetrics(app, want, ms = 5000) {
  const deadline = Date.now() + ms
  let got
  for (;;) {
    got = await scrape(app)
    const wrong = Object.entries(want).filter(([k, v]) => got.get(k) !== v)
    if (wrong.length === 0) return got
    if (Date.now() > deadline) {
      assert.fail(`metrics at rest: ${wrong.map(([k, v]) => `${k} = ${got.get(k)}, want ${v}`).join("; ")}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe("operations", () => {
  let app = null
  before(async () => { app = await startApp({ name: "operations", args: ["-dashboard-password", PASSWORD, "-pprof"] }) })
  after(async () => { if (app) await app.stop() })

  test("GET /metrics matches what the clients did, on both transports", async (t) => {
    const base = await scrape(app)
    const at = (k) => base.get(k) ?? 0
    const ws = session(t, app, WEBSOCKET)
    const lp = session(t, app, LONGPOLL)
    const topic = `room:${uid("ops")}`
    const socks = [await ws.connected(uid("w")), await ws.connected(uid("w")), await lp.connected(uid("l"))]
    const chans = []
    for (const s of socks) { const ch = s.channel(topic); await joinOk(ch); chans.push(ch) }
    await expectMetrics(app, {
      'suzaku_connections{transport="websocket"}': at('suzaku_connections{transport="websocket"}') + 2,
      'suzaku_connections{transport="longpoll"}': at('suzaku_connections{transport="longpoll"}') + 1,
      suzaku_channels: at("suzaku_channels") + 3,
    })
    // Frames counted from here: every push is one frame in; its reply, and
    // the broadcast of new_msg to the three members, are frames out.
    const before = await scrape(app)
    const pushes = 5
    for (let i = 0; i < pushes; i++) await pushOk(chans[i % 3], "echo", { i })
    await expectMetrics(app, {
      suzaku_messages_received_total: before.get("suzaku_messages_received_total") + pushes,
      suzaku_messages_sent_total: before.get("suzaku_messages_sent_total") + pushes,
    })
    for (const s of socks) s.disconnect()
    await expectMetrics(app, {
      'suzaku_connections{transport="websocket"}': at('suzaku_connections{transport="websocket"}'),
      suzaku_channels: at("suzaku_channels"),
    }, 20000) // the LongPoll session ends on its own timeout
  })

  test("/healthz and /readyz answer 200", async () => {
    for (const p of ["/healthz", "/readyz"]) {
      const res = await fetch(`${app.httpURL}${p}`)
      assert.equal(res.status, 200, p)
    }
  })

  test("the dashboard in Chromium renders, and its figures move under load",
    { skip: !haveChromium && !inCI ? `${missing}; skipped (CI=true makes this a failure)` : false, timeout: 120000 },
    async (t) => {
      assert.ok(haveChromium, `${missing}: CI must install it`)
      // The embedded phoenix client is the npm package's, byte for byte.
      const vendored = readFileSync(path.join(e2eDir, "..", "dashboard", "assets", "phoenix.mjs"))
      const npm = readFileSync(path.join(e2eDir, "node_modules", "phoenix", "priv", "static", "phoenix.mjs"))
      assert.ok(vendored.equals(npm), "dashboard/assets/phoenix.mjs differs from node_modules/phoenix: copy the new version")

      const noCreds = await fetch(`${app.httpURL}/ops/`)
      assert.equal(noCreds.status, 401)

      const { chromium } = await import("playwright-core")
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
          "--no-first-run", "--disable-component-update", "--disable-sync"],
        timeout: 60000,
      })
      t.after(() => browser.close())
      const context = await browser.newContext({ httpCredentials: { username: "ops", password: PASSWORD }, viewport: { width: 1280, height: 900 } })
      const page = await context.newPage()
      const pageErrors = []
      page.on("pageerror", (err) => pageErrors.push(String(err)))
      page.on("console", (msg) => { if (msg.type() === "error") pageErrors.push(msg.text()) })
      await page.goto(`${app.httpURL}/ops/`, { timeout: PAGE_WAIT_MS })
      await page.waitForFunction(() => document.getElementById("status").textContent === "connected", null, { timeout: PAGE_WAIT_MS })
      await page.waitForFunction(() => Number(document.body.dataset.samples || 0) >= 2, null, { timeout: PAGE_WAIT_MS })
      const value = (id) => page.evaluate((id) => Number(document.getElementById(`v-${id}`).dataset.value), id)
      const conns0 = await value("conns")

      // Load: 20 clients join one room and push for a few seconds.
      const s = session(t, app, WEBSOCKET)
      const topic = `room:${uid("dash")}`
      const chans = []
      for (let i = 0; i < 20; i++) {
        const sock = await s.connected(uid("load"))
        const ch = sock.channel(topic)
        await joinOk(ch)
        chans.push(ch)
      }
      const stop = Date.now() + 4000
      let pushes = 0
      const load = (async () => {
        while (Date.now() < stop) {
          await Promise.all(chans.map((ch) => pushOk(ch, "new_msg", { body: "load" })))
          pushes += chans.length
        }
      })()
      await page.waitForFunction((n) => Number(document.getElementById("v-conns").dataset.value) >= n, conns0 + 20, { timeout: PAGE_WAIT_MS })
      await page.waitForFunction(() => Number(document.getElementById("v-in").dataset.value) > 0 &&
        Number(document.getElementById("v-out").dataset.value) > 0, null, { timeout: PAGE_WAIT_MS })
      await load
      assert.ok(pushes > 0)
      const patterns = await page.evaluate(() => document.querySelector("#patterns tbody").textContent)
      assert.match(patterns, /room:\*/)
      const nodes = await page.$$eval("#nodes tbody tr", (rows) => rows.length)
      assert.equal(nodes, 1)
      mkdirSync(artifacts, { recursive: true })
      await page.screenshot({ path: path.join(artifacts, "dashboard.png"), fullPage: true })
      assert.deepEqual(pageErrors, [], "the page reported errors")
      await context.close()
    })

  test("/readyz answers 503 while the app drains after SIGTERM", async () => {
    const ready = await fetch(`${app.httpURL}/readyz`)
    assert.equal(ready.status, 200)
    app.proc.kill("SIGTERM")
    const deadline = Date.now() + 900 // inside the app's 1 s drain delay
    let status = 0
    while (Date.now() < deadline) {
      status = (await fetch(`${app.httpURL}/readyz`)).status
      if (status === 503) break
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.equal(status, 503)
    const alive = await fetch(`${app.httpURL}/healthz`)
    assert.equal(alive.status, 200, "healthz stays 200 while draining")
    const { code } = await withTimeout(app.exited, 10000, "the app to exit")
    assert.equal(code, 0)
  })
})
