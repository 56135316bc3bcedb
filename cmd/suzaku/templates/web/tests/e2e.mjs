// Browser test: two users in two Chromium pages see each other online and
// chat. Run by tests/run.sh against a server it starts (APP_URL).
import { test, before, after } from "node:test"
import assert from "node:assert/strict"
import { chromium } from "playwright-core"

const APP_URL = process.env.APP_URL ?? "http://127.0.0.1:4000"
const WAIT = 10_000
const run = Math.random().toString(36).slice(2, 8)
let browser

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  })
})
after(async () => browser?.close())

test("assets are served precompressed", async () => {
  const html = await (await fetch(APP_URL)).text()
  const js = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1]
  assert.ok(js, "no script in index.html")
  const res = await fetch(APP_URL + js, { headers: { "Accept-Encoding": "br" } })
  await res.arrayBuffer()
  assert.equal(res.headers.get("content-encoding"), "br")
})

async function user(name) {
  const page = await (await browser.newContext()).newPage()
  await page.goto(APP_URL)
  await page.fill("#name", name)
  await page.fill("#password", "correct-horse")
  await page.click("#signup")
  await page.waitForSelector("#room:not([hidden])", { timeout: WAIT })
  return page
}

test("two users chat and see each other online", async () => {
  const ann = await user(`ann${run}`)
  const bob = await user(`bob${run}`)
  for (const page of [ann, bob]) {
    await page.waitForFunction((names) => names.every((n) => document.querySelector("#online").textContent.includes(n)),
      [`ann${run}`, `bob${run}`], { timeout: WAIT })
  }
  await ann.fill("#body", "hello bob")
  await ann.press("#body", "Enter")
  await bob.waitForFunction(() => document.querySelector("#messages").textContent.includes("hello bob"), null, { timeout: WAIT })
  await ann.fill("#body", "   ")
  await ann.press("#body", "Enter")
  await ann.waitForFunction(() => document.querySelector("#room-error").textContent.includes("1 to 1000"), null, { timeout: WAIT })

  await bob.click("#logout")
  await bob.waitForSelector("#login:not([hidden])", { timeout: WAIT })
  await ann.waitForFunction((n) => !document.querySelector("#online").textContent.includes(n), `bob${run}`, { timeout: WAIT })
  assert.ok(true)
})
