// dashboard-page.mjs opens the dashboard in Chromium (playwright-core from
// e2e/node_modules) and keeps it open until killed: the "page open" case
// of scripts/dashboard-overhead.sh.
//
//   node scripts/dashboard-page.mjs URL USER PASSWORD
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(path.join(here, "..", "e2e", "package.json"))
const { chromium } = require("playwright-core")
const [url, username, password] = process.argv.slice(2)
const browser = await chromium.launch({
  executablePath: process.env.SUZAKU_E2E_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
})
const page = await (await browser.newContext({ httpCredentials: { username, password } })).newPage()
await page.goto(url)
await page.waitForFunction(() => Number(document.body.dataset.samples || 0) >= 1, null, { timeout: 30000 })
console.log("page open")
process.on("SIGTERM", async () => { await browser.close(); process.exit(0) })
setInterval(() => {}, 1 << 30)
