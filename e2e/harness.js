// Harness for the end-to-end suites: it builds examples/conformance, runs one app
// instance per test file on a free loopback port, and offers helpers around the
// official phoenix client and a raw, frame-level `ws` client.
//
// Tests never sleep to assert: every helper waits on an event with a timeout.
//
// Environment:
//   SUZAKU_E2E_BIN   path of a prebuilt conformance binary (run.sh builds it once
//                    for all files); without it the harness builds its own.
//   SUZAKU_E2E_RACE  "1" builds the app with -race.
//   SUZAKU_E2E_LOGS  folder for the app's output (default e2e/artifacts).

import { spawn, execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, createWriteStream, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import net from "node:net"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { Socket } from "phoenix"
import WebSocket from "ws"

export { Socket, WebSocket }

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(e2eDir, "..")

// Default wait for anything the server should do promptly.
export const WAIT_MS = 5000

// ---------------------------------------------------------------------------
// Unique names

let seq = 0
// uid returns a name no other test (in this or another file) uses.
export function uid(prefix = "u") {
  seq++
  return `${prefix}-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`
}

// ---------------------------------------------------------------------------
// Building and running the app

function goBinary() {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, "go"))) return path.join(dir, "go")
  }
  if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go"
  return "go"
}

let builtBin = null

// buildApp builds ./examples/conformance once per process (or uses
// SUZAKU_E2E_BIN) and returns the binary's path.
export function buildApp() {
  if (builtBin) return builtBin
  const pre = process.env.SUZAKU_E2E_BIN
  if (pre) {
    if (!existsSync(pre)) throw new Error(`SUZAKU_E2E_BIN=${pre} does not exist`)
    builtBin = pre
    return builtBin
  }
  const dir = mkdtempSync(path.join(tmpdir(), "suzaku-e2e-"))
  const out = path.join(dir, "conformance")
  const args = ["build"]
  if (process.env.SUZAKU_E2E_RACE === "1") args.push("-race")
  args.push("-o", out, "./examples/conformance")
  try {
    execFileSync(goBinary(), args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] })
  } catch (err) {
    throw new Error(`go ${args.join(" ")} failed:\n${err.stderr || err.message}`)
  }
  builtBin = out
  return builtBin
}

// freePort asks the kernel for a free loopback port.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

// App is one running instance of examples/conformance.
export class App {
  constructor(proc, addr, logPath) {
    this.proc = proc
    this.addr = addr // host:port
    this.httpURL = `http://${addr}`
    this.wsURL = `ws://${addr}`
    this.logPath = logPath
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve({ code: proc.exitCode, signal: proc.signalCode })
      else proc.once("exit", (code, signal) => resolve({ code, signal }))
    })
  }

  // socketURL is the endpoint given to phoenix's Socket.
  get socketURL() { return `${this.wsURL}/socket` }

  // wsEndpoint is the raw WebSocket URL with a query string built from params.
  wsEndpoint(params = {}) {
    const q = new URLSearchParams(params).toString()
    return `${this.wsURL}/socket/websocket${q ? "?" + q : ""}`
  }

  log() {
    try { return readFileSync(this.logPath, "utf8") } catch { return "" }
  }

  // stop sends sig and waits for the exit (SIGKILL after 5 s).
  async stop(sig = "SIGTERM") {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(sig)
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000)
      const res = await this.exited
      clearTimeout(t)
      return res
    }
    return this.exited
  }
}

// startApp builds (once) and starts the app on a free port, waits for the
// "listening on http://ADDR" line and returns an App.
export async function startApp({ name = "app", readyTimeoutMs = 60000 } = {}) {
  const bin = buildApp()
  const port = await freePort()
  const logDir = process.env.SUZAKU_E2E_LOGS || path.join(e2eDir, "artifacts")
  mkdirSync(logDir, { recursive: true })
  const logPath = path.join(logDir, `${name}-${port}.log`)
  const logStream = createWriteStream(logPath)
  const proc = spawn(bin, ["-addr", `127.0.0.1:${port}`], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  })
  proc.stderr.pipe(logStream, { end: false })
  let buf = ""
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      reject(new Error(`app did not print "listening on" within ${readyTimeoutMs} ms; output:\n${buf}`))
    }, readyTimeoutMs)
    proc.stdout.on("data", (chunk) => {
      logStream.write(chunk)
      if (timer === null) return
      buf += chunk.toString()
      const m = buf.match(/listening on http:\/\/(\S+)/)
      if (m) {
        clearTimeout(timer)
        let a = m[1]
        // Take the printed address unless it is a wildcard or port 0.
        if (/:0$/.test(a) || a.startsWith("0.0.0.0") || a.startsWith("[::]")) a = `127.0.0.1:${port}`
        resolve(a)
      }
    })
    proc.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`app exited (code ${code}, signal ${signal}) before listening; output:\n${buf}`))
    })
    proc.once("error", (err) => { clearTimeout(timer); reject(err) })
  })
  proc.stdout.removeAllListeners("data")
  proc.stdout.pipe(logStream, { end: false })
  return new App(proc, addr, logPath)
}

// ---------------------------------------------------------------------------
// Generic waiting

// withTimeout rejects with a message naming what was awaited (what may be a
// function, called only on timeout).
export function withTimeout(promise, ms, what) {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const w = typeof what === "function" ? what() : what
      reject(new Error(`timed out after ${ms} ms waiting for ${w}`))
    }, ms)
  })
  return Promise.race([promise, t]).finally(() => clearTimeout(timer))
}

// Deferred is a promise with its resolvers.
export function deferred() {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

// Recorder collects values in order and lets a test wait for the n-th one, or
// for one matching a predicate, without sleeping.
export class Recorder {
  constructor(name = "events") {
    this.name = name
    this.items = []
    this.waiters = []
  }

  push(item) {
    this.items.push(item)
    this.waiters = this.waiters.filter((w) => {
      const i = this.items.findIndex((x, idx) => idx >= w.from && w.pred(x))
      if (i >= 0) { w.resolve(this.items[i]); return false }
      return true
    })
  }

  // waitFor resolves with the first recorded item (at index >= from) for which
  // pred is true.
  waitFor(pred = () => true, { timeout = WAIT_MS, from = 0, what } = {}) {
    const i = this.items.findIndex((x, idx) => idx >= from && pred(x))
    if (i >= 0) return Promise.resolve(this.items[i])
    const d = deferred()
    const w = { pred, from, resolve: d.resolve }
    this.waiters.push(w)
    return withTimeout(d.promise, timeout, what || (() => `${this.name} matching ${pred}; got ${JSON.stringify(this.items.slice(from))}`))
      .finally(() => { this.waiters = this.waiters.filter((x) => x !== w) })
  }

  // waitCount resolves with the items once at least n were recorded.
  async waitCount(n, opts = {}) {
    await this.waitFor(() => true, { ...opts, from: n - 1, what: opts.what || (() => `${n} ${this.name}; got ${JSON.stringify(this.items)}`) })
    return this.items.slice()
  }
}

// ---------------------------------------------------------------------------
// phoenix client helpers

// Session tracks every socket and raw client a test opens and closes them all.
export class Session {
  constructor(app) {
    this.app = app
    this.sockets = []
    this.raws = []
  }

  // socket creates (but does not connect) a phoenix Socket for user.
  // Extra phoenix options are passed through; params override {user}.
  socket(user, opts = {}) {
    const params = opts.params !== undefined ? opts.params : { user }
    const s = new Socket(this.app.socketURL, {
      transport: WebSocket,
      timeout: WAIT_MS,
      reconnectAfterMs: () => 20,
      rejoinAfterMs: () => 200,
      ...opts,
      params,
    })
    instrument(s)
    this.sockets.push(s)
    return s
  }

  // connected creates a socket for user, connects it and waits for onOpen.
  async connected(user, opts = {}) {
    const s = this.socket(user, opts)
    await connect(s)
    return s
  }

  // raw opens a frame-level client (see Raw.open).
  async raw(params, opts) {
    const r = await Raw.open(this.app, params, opts)
    this.raws.push(r)
    return r
  }

  async close() {
    for (const s of this.sockets) {
      try { s.disconnect() } catch { /* already gone */ }
    }
    await Promise.all(this.raws.map((r) => r.close()))
  }
}

// instrument records what a socket sends (s.sent), receives (s.received),
// and its open/close/error events (s.opens, s.closes, s.errors).
function instrument(s) {
  s.sent = new Recorder("sent messages")
  s.received = new Recorder("received messages")
  s.opens = new Recorder("socket opens")
  s.closes = new Recorder("socket closes")
  s.errors = new Recorder("socket errors")
  const encode = s.encode
  s.encode = (msg, cb) => { s.sent.push(msg); return encode(msg, cb) }
  s.onMessage((msg) => s.received.push(msg))
  s.onOpen(() => s.opens.push(Date.now()))
  s.onClose((ev) => s.closes.push({ code: ev && ev.code, reason: ev && ev.reason }))
  s.onError((err) => s.errors.push(err))
}

// connect connects s and resolves on its next onOpen; it rejects on onError.
export function connect(s, timeout = WAIT_MS) {
  const d = deferred()
  const refs = [
    s.onOpen(() => d.resolve()),
    s.onError((err) => d.reject(new Error(`socket error before open: ${err && (err.message || err.type || err)}`))),
  ]
  s.connect()
  return withTimeout(d.promise, timeout, "socket open").finally(() => s.off(refs))
}

// outcome turns a phoenix Push into a promise of {status, response}, where
// status is "ok", "error", "timeout" or any other status the server sent.
export function outcome(push) {
  return new Promise((resolve) => {
    for (const status of ["ok", "error", "timeout"]) {
      push.receive(status, (response) => resolve({ status, response }))
    }
  })
}

// join joins channel and resolves with {status, response} of the first answer.
export function join(channel, timeout = WAIT_MS) {
  return outcome(channel.join(timeout))
}

// joinOk joins and fails unless the reply is ok; it resolves with the response.
export async function joinOk(channel, timeout = WAIT_MS) {
  const r = await join(channel, timeout)
  if (r.status !== "ok") throw new Error(`join ${channel.topic}: got ${r.status} ${JSON.stringify(r.response)}, want ok`)
  return r.response
}

// push pushes event and resolves with {status, response}.
export function push(channel, event, payload = {}, timeout = WAIT_MS) {
  return outcome(channel.push(event, payload, timeout))
}

// pushOk pushes and fails unless the reply is ok; it resolves with the response.
export async function pushOk(channel, event, payload = {}, timeout = WAIT_MS) {
  const r = await push(channel, event, payload, timeout)
  if (r.status !== "ok") throw new Error(`push ${event} on ${channel.topic}: got ${r.status} ${JSON.stringify(r.response)}, want ok`)
  return r.response
}

// record records every payload of event on channel (including phx_error,
// phx_close, ...). Call it before the action that triggers the event.
export function record(channel, event) {
  const rec = new Recorder(`"${event}" on ${channel.topic}`)
  channel.on(event, (payload) => rec.push(payload))
  return rec
}

// waitEvent resolves with the next payload of event on channel that matches pred.
export function waitEvent(channel, event, pred = () => true, timeout = WAIT_MS) {
  const d = deferred()
  const ref = channel.on(event, (payload) => { if (pred(payload)) d.resolve(payload) })
  return withTimeout(d.promise, timeout, `"${event}" on ${channel.topic}`).finally(() => channel.off(event, ref))
}

// ---------------------------------------------------------------------------
// HTTP helpers

// postJSON posts body (an object, or a string sent as is) and resolves with
// {status, body} where body is parsed JSON when possible, else text.
export async function postJSON(app, route, body) {
  const res = await fetch(`${app.httpURL}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed = text
  try { parsed = JSON.parse(text) } catch { /* not JSON */ }
  return { status: res.status, body: parsed, text, headers: res.headers }
}

export async function broadcast(app, topic, event, payload) {
  const r = await postJSON(app, "/api/broadcast", { topic, event, payload })
  if (r.status !== 200) throw new Error(`POST /api/broadcast: got ${r.status} ${r.text}, want 200`)
  return r
}

// ---------------------------------------------------------------------------
// Raw frame-level client

// isPresence tells a presence_* frame (V2 array or V1 object) apart.
function isPresence(f) {
  const ev = Array.isArray(f) ? f[3] : f && f.event
  return typeof ev === "string" && ev.startsWith("presence_")
}

// Raw is a WebSocket client that speaks frames: V2 arrays (JSON text), V1
// objects, or binary Buffers. Incoming presence_* frames are skipped.
export class Raw {
  constructor(ws) {
    this.ws = ws
    this.frames = new Recorder("frames")
    this.cursor = 0 // index of the next frame next() returns
    this.closed = deferred()
    this.closeInfo = null
    ws.on("message", (data, isBinary) => {
      if (isBinary) { this.frames.push({ binary: true, data: Buffer.from(data) }); return }
      const text = data.toString("utf8")
      let f
      try { f = JSON.parse(text) } catch { f = { unparsable: text } }
      if (isPresence(f)) return
      this.frames.push(f)
    })
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() }
      this.closed.resolve(this.closeInfo)
    })
    ws.on("error", () => { /* reported through close */ })
  }

  // open connects to /socket/websocket with params (default vsn=2.0.0) and
  // resolves once the upgrade succeeded. opts: {protocols, headers, origin}.
  static open(app, params = {}, opts = {}) {
    const url = app.wsEndpoint(params)
    const ws = new WebSocket(url, opts.protocols, { headers: opts.headers, origin: opts.origin })
    const raw = new Raw(ws)
    return withTimeout(new Promise((resolve, reject) => {
      ws.once("open", () => resolve(raw))
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade of ${url}: HTTP ${res.statusCode}`)))
      ws.once("error", (err) => reject(err))
    }), WAIT_MS, `upgrade of ${url}`)
  }

  // sendFrame sends a V2 array or V1 object as a JSON text frame.
  send(frame) { this.ws.send(JSON.stringify(frame)) }

  // sendText sends text as is; sendBinary sends bytes as a binary frame.
  sendText(text) { this.ws.send(text, { binary: false }) }
  sendBinary(bytes) { this.ws.send(bytes, { binary: true }) }

  // next resolves with the next frame (in arrival order) that matches pred,
  // consuming every frame up to it. With pred omitted, the very next frame.
  async next(pred = () => true, timeout = WAIT_MS, what = "next frame") {
    const from = this.cursor
    const f = await this.frames.waitFor(pred, { timeout, from, what: () => `${what}; frames received since: ${this.describe(from)}` })
    this.cursor = this.frames.items.indexOf(f, from) + 1
    return f
  }

  // describe renders the frames received since index from.
  describe(from = 0) {
    return this.frames.items.slice(from).map((f) => (f && f.binary ? `<binary ${f.data.toString("hex")}>` : JSON.stringify(f))).join(" ") || "none"
  }

  // reply waits for the phx_reply with the given ref on topic (V2).
  reply(topic, ref, timeout = WAIT_MS) {
    return this.next((f) => Array.isArray(f) && f[1] === ref && f[2] === topic && f[3] === "phx_reply",
      timeout, `phx_reply ref ${ref} on ${topic}`)
  }

  // join sends a phx_join and returns the reply frame.
  async join(topic, payload = {}, joinRef = uid("j"), ref = joinRef) {
    this.send([joinRef, ref, topic, "phx_join", payload])
    return this.reply(topic, ref)
  }

  close() {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.closeInfo)
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(1000)
    const t = setTimeout(() => this.ws.terminate(), 2000)
    return this.closed.promise.finally(() => clearTimeout(t))
  }

  waitClosed(timeout = WAIT_MS) {
    return withTimeout(this.closed.promise, timeout, "server close")
  }
}

// upgradeStatus tries a WebSocket upgrade and resolves with the HTTP status:
// 101 when it succeeded, otherwise the status of the refusal.
export function upgradeStatus(url, opts = {}) {
  const ws = new WebSocket(url, opts.protocols, { headers: opts.headers, origin: opts.origin })
  return withTimeout(new Promise((resolve, reject) => {
    ws.once("open", () => { resolve({ status: 101, protocol: ws.protocol }); ws.close() })
    ws.once("unexpected-response", (_req, res) => { resolve({ status: res.statusCode }); res.resume(); ws.terminate() })
    ws.once("error", (err) => reject(err))
  }), WAIT_MS, `upgrade of ${url}`)
}

// ---------------------------------------------------------------------------
// Binary frames (PROTOCOL.md §2.3)

// encodeBinaryPush builds a client→server push: kind 0, four u8 lengths.
export function encodeBinaryPush(joinRef, ref, topic, event, payload) {
  const parts = [joinRef, ref, topic, event].map((s) => Buffer.from(s, "utf8"))
  const header = Buffer.from([0, ...parts.map((p) => p.length)])
  return Buffer.concat([header, ...parts, Buffer.from(payload)])
}

// encodeBinaryReply builds what the server must send for a binary reply: kind
// 1, lengths of join_ref, ref, topic and status, then the fields and payload.
export function encodeBinaryReply(joinRef, ref, topic, status, payload) {
  const parts = [joinRef, ref, topic, status].map((s) => Buffer.from(s, "utf8"))
  const header = Buffer.from([1, ...parts.map((p) => p.length)])
  return Buffer.concat([header, ...parts, Buffer.from(payload)])
}

// decodeBinary decodes any server→client binary frame into an object.
export function decodeBinary(buf) {
  const kind = buf[0]
  let off
  const take = (n) => { const s = buf.subarray(off, off + n); off += n; return s }
  if (kind === 0) {
    off = 4
    const [jl, tl, el] = [buf[1], buf[2], buf[3]]
    return { kind, join_ref: take(jl).toString(), topic: take(tl).toString(), event: take(el).toString(), payload: buf.subarray(off) }
  }
  if (kind === 1) {
    off = 5
    const [jl, rl, tl, sl] = [buf[1], buf[2], buf[3], buf[4]]
    return { kind, join_ref: take(jl).toString(), ref: take(rl).toString(), topic: take(tl).toString(), status: take(sl).toString(), payload: buf.subarray(off) }
  }
  if (kind === 2) {
    off = 3
    const [tl, el] = [buf[1], buf[2]]
    return { kind, topic: take(tl).toString(), event: take(el).toString(), payload: buf.subarray(off) }
  }
  return { kind, raw: buf }
}

// ---------------------------------------------------------------------------
// Test wiring

// session returns a Session whose sockets and raw clients are closed when the
// test t ends.
export function session(t, app) {
  const s = new Session(app)
  t.after(() => s.close())
  return s
}

// useApp starts one app for the calling test file (in before) and stops it
// (in after); the returned object's .app is set once started.
export function useApp(hooks, name) {
  const holder = { app: null }
  hooks.before(async () => { holder.app = await startApp({ name }) })
  hooks.after(async () => { if (holder.app) await holder.app.stop() })
  return holder
}

// assertAlive fails if the app exited or /api/health does not answer ok.
export async function assertAlive(app) {
  if (app.proc.exitCode !== null || app.proc.signalCode !== null) {
    throw new Error(`app exited (code ${app.proc.exitCode}, signal ${app.proc.signalCode}); log ${app.logPath}:\n${app.log().slice(-4000)}`)
  }
  const res = await fetch(`${app.httpURL}/api/health`)
  if (res.status !== 200) throw new Error(`GET /api/health: got ${res.status}, want 200`)
}
