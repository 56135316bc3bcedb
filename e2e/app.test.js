// The conformance app as a process: it starts, prints its address, and stops
// cleanly on SIGTERM and SIGINT (examples/conformance/README.md, "Running it").

import { test } from "node:test"
import assert from "node:assert/strict"
import { startApp, Raw, uid, withTimeout } from "./harness.js"

for (const sig of ["SIGTERM", "SIGINT"]) {
  test(`the app answers /api/health and exits 0 on ${sig} with a client connected`, async () => {
    const app = await startApp({ name: `lifecycle-${sig}` })
    try {
      const res = await fetch(`${app.httpURL}/api/health`)
      assert.equal(res.status, 200)
      const health = await res.json()
      assert.equal(health.ok, true)
      assert.equal(typeof health.node, "string", "the health answer names the node")
      assert.ok(health.node.length > 0, "the node name is not empty")
      const raw = await Raw.open(app, { user: uid("life"), vsn: "2.0.0" })
      raw.send(["1", "1", `room:${uid("life")}`, "phx_join", {}])
      await raw.next()
      app.proc.kill(sig)
      const { code, signal } = await withTimeout(app.exited, 10000, `the app to exit on ${sig}`)
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, `log:\n${app.log().slice(-3000)}`)
      await withTimeout(raw.closed.promise, 5000, "the client connection to close")
    } finally {
      await app.stop("SIGKILL")
    }
  })
}
