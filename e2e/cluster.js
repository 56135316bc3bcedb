// Cluster harness for the multi-node suites: a private broker (redis-server
// or nats-server, started by the test on a free port, so that a test may stop
// and restart it without touching the shared ones), several
// examples/conformance nodes that name it with -broker and -node, and a
// round-robin proxy in front of them (rrproxy.js).
//
// Environment (besides harness.js's):
//   SUZAKU_E2E_REDIS_SERVER  redis-server binary (default: redis-server on PATH, /usr/bin/redis-server)
//   SUZAKU_E2E_NATS_SERVER   nats-server binary (default: nats-server on PATH, /usr/sbin/nats-server)
// Without a broker's binary its suites are skipped, or fail when CI is set.

import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, createWriteStream, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import net from "node:net"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { startApp, freePort, withTimeout, uid, Session, Recorder, PresenceProbe, WAIT_MS, WEBSOCKET } from "./harness.js"
import { RoundRobinProxy } from "./rrproxy.js"

export { RoundRobinProxy }

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
const logDir = () => process.env.SUZAKU_E2E_LOGS || path.join(e2eDir, "artifacts")

export const BROKERS = ["redis", "nats"]

function which(name, fallbacks) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name)
  }
  return fallbacks.find((f) => existsSync(f)) || null
}

// brokerBinary is the server binary for kind, or null when it is missing.
export function brokerBinary(kind) {
  if (kind === "redis") return process.env.SUZAKU_E2E_REDIS_SERVER || which("redis-server", ["/usr/bin/redis-server"])
  if (kind === "nats") return process.env.SUZAKU_E2E_NATS_SERVER || which("nats-server", ["/usr/sbin/nats-server", "/usr/bin/nats-server"])
  throw new Error(`unknown broker ${kind}`)
}

// skipUnless is a describe/test option value: false when kind's binary is
// here; a reason to skip otherwise. Under CI a missing binary is an error.
export function skipUnless(kind) {
  if (brokerBinary(kind)) return false
  if (process.env.CI) throw new Error(`${kind} server binary not found, and CI is set: the cluster suites must run`)
  return `${kind} server binary not found`
}

// answers resolves true when something accepts TCP connections at port.
export function answers(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once("connect", () => { s.destroy(); resolve(true) })
    s.once("error", () => { s.destroy(); resolve(false) })
  })
}

// waitPort resolves once port answers (or rejects after ms).
export async function waitPort(port, ms = 10000, what = `port ${port}`) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await answers(port)) return
    await sleep(20)
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} to accept connections`)
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// Broker is a private redis-server or nats-server on a free loopback port.
// stop() and start() keep its port, so the nodes reach it again at the same URL.
export class Broker {
  constructor(kind, port, dir) {
    this.kind = kind
    this.port = port
    this.dir = dir
    this.url = `${kind}://127.0.0.1:${port}`
    this.proc = null
    this.logPath = path.join(logDir(), `broker-${kind}-${port}.log`)
  }

  static async start(kind) {
    const dir = mkdtempSync(path.join(tmpdir(), `suzaku-e2e-${kind}-`))
    mkdirSync(logDir(), { recursive: true })
    const b = new Broker(kind, await freePort(), dir)
    await b.start()
    return b
  }

  args() {
    if (this.kind === "redis") {
      return ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, "--daemonize", "no"]
    }
    // JetStream on: a node may keep stream history there.
    return ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.dir]
  }

  // start runs the server and resolves once its port answers.
  async start() {
    const log = createWriteStream(this.logPath, { flags: "a" })
    const proc = spawn(brokerBinary(this.kind), this.args(), { stdio: ["ignore", "pipe", "pipe"] })
    proc.stdout.pipe(log, { end: false })
    proc.stderr.pipe(log, { end: false })
    this.proc = proc
    this.exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })))
    const died = this.exited.then((r) => { throw new Error(`${this.kind}-server exited (${JSON.stringify(r)}) before answering; log ${this.logPath}`) })
    await Promise.race([waitPort(this.port, 15000, `${this.kind}-server`), died])
    died.catch(() => {})
  }

  // stop ends the server (SIGKILL by default: the broker dies without a word)
  // and resolves once its port no longer answers.
  async stop(sig = "SIGKILL") {
    if (!this.proc) return
    const p = this.proc
    this.proc = null
    if (p.exitCode === null && p.signalCode === null) p.kill(sig)
    const t = setTimeout(() => p.kill("SIGKILL"), 5000)
    await this.exited
    clearTimeout(t)
  }

  async close() {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

// Node is one conformance node of a cluster: an App (harness.js) with a name.
// startNode starts it with -broker and -node.
export async function startNode(broker, name, { port = 0, label = "cluster" } = {}) {
  const app = await startApp({ name: `${label}-${name}`, args: ["-broker", broker.url, "-node", name], port })
  app.nodeName = name
  return app
}

// raceReport returns the race detector's report in app's output, or "".
export function raceReport(app) {
  const out = app.stderr()
  const i = out.indexOf("WARNING: DATA RACE")
  return i >= 0 ? out.slice(i, i + 6000) : ""
}

// Cluster is a private broker, n nodes over it and a round-robin proxy in
// front of every node.
export class Cluster {
  constructor(kind, label) {
    this.kind = kind
    this.label = label
    this.broker = null
    this.nodes = []
    this.all = [] // every node ever started (stopped ones too), for the race check
    this.proxy = null
    this.names = new Set() // every node name used
  }

  static async start(kind, { n = 3, label = `cluster-${kind}` } = {}) {
    const c = new Cluster(kind, label)
    try {
      c.broker = await Broker.start(kind)
      for (let i = 0; i < n; i++) await c.addNode()
      c.proxy = await RoundRobinProxy.start(c.nodes.map((a) => a.addr))
    } catch (err) {
      await c.close().catch(() => {})
      throw err
    }
    return c
  }

  // nodeName returns a name unique in this run.
  nodeName() {
    const name = uid(`${this.kind}-node`)
    this.names.add(name)
    return name
  }

  // addNode starts one more node (on port, or a free one) and adds it to nodes.
  async addNode({ port = 0 } = {}) {
    const app = await startNode(this.broker, this.nodeName(), { port, label: this.label })
    this.nodes.push(app)
    this.all.push(app)
    return app
  }

  // removeNode takes app out of nodes (and of the proxy's backends).
  removeNode(app) {
    this.nodes = this.nodes.filter((a) => a !== app)
    if (this.proxy) this.proxy.setBackends(this.nodes.map((a) => a.addr))
  }

  async close() {
    if (this.proxy) await this.proxy.close()
    await Promise.all(this.all.map((a) => a.stop()))
    await Promise.all(this.all.map((a) => withTimeout(a.closed, 5000, "node output to end").catch(() => {})))
    if (this.broker) await this.broker.close()
  }

  // races lists the race detector's reports of every node.
  races() {
    return this.all.map((a) => ({ a, r: raceReport(a) })).filter((x) => x.r)
      .map((x) => `node ${x.a.nodeName} (log ${x.a.logPath}):\n${x.r}`)
  }
}

// useCluster starts a cluster over kind for the enclosing describe (before)
// and stops it (after), failing if the race detector spoke in any node.
export function useCluster(hooks, kind, opts = {}) {
  const holder = { c: null }
  hooks.before(async () => { holder.c = await Cluster.start(kind, opts) }, { timeout: 120000 })
  hooks.after(async () => {
    const c = holder.c
    if (!c) return
    await c.close()
    const races = c.races()
    if (races.length) throw new Error(`the race detector reported data races:\n${races.join("\n")}`)
  }, { timeout: 60000 })
  return holder
}

// ---------------------------------------------------------------------------
// Clients on several nodes

// sessions opens one harness Session per target (a node or the proxy) and
// closes them all when t ends.
export function sessions(t) {
  const all = []
  t.after(() => Promise.all(all.map((s) => s.close())))
  return (target, tr = WEBSOCKET) => {
    const s = new Session(target, tr)
    all.push(s)
    return s
  }
}

// member connects user to target over tr and joins topic with a Presence
// made before the join; it resolves with {user, sock, ch, probe, oks, reply, node}.
// (phoenix holds a join back while its socket is not open: a session that
// keeps losing its socket would wait forever, hence the overall timeout.)
export function member(open, target, user, topic, tr = WEBSOCKET, payload = {}) {
  const where = target.nodeName || "the proxy"
  return withTimeout((async () => {
    const sock = await open(target, tr).connected(user)
    const ch = sock.channel(topic, payload)
    const probe = new PresenceProbe(ch, `${user} on ${where}`)
    // Every ok of the join push: the first join's, then each rejoin's.
    const oks = new Recorder(`join oks of ${user} on ${topic}`)
    await new Promise((resolve, reject) => {
      ch.join()
        .receive("ok", (r) => { oks.push(r); resolve() })
        .receive("error", (r) => reject(new Error(`join ${topic} on ${where}: error ${JSON.stringify(r)}`)))
    })
    return { user, sock, ch, probe, oks, reply: oks.items[0], node: target.nodeName }
  })(), 3 * WAIT_MS, `${user} to connect to ${where} over ${tr.name} and join ${topic}`)
}

// counts is {user: 1} for each user, what untilCounts expects.
export const counts = (users) => Object.fromEntries(users.map((u) => [u, 1]))
