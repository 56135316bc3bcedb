// Harness for the end-to-end suites: it builds examples/conformance, runs one app
// instance per test file on a free loopback port, and offers helpers around the
// official phoenix client (over WebSocket or LongPoll, with its JS Presence), a
// raw, frame-level `ws` client and a raw LongPoll client over fetch.
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
import { Socket, LongPoll, Presence } from "phoenix"
import WebSocket from "ws"

export { Socket, LongPoll, Presence, WebSocket }

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(e2eDir, "..")

// Default wait for anything the server should do promptly.
export const WAIT_MS = 5000

// The phoenix client's transports. Over LongPoll, phoenix 1.8.16 talks HTTP with
// the global fetch and AbortController of Node 20 (ajax.js takes fetch when
// there is no XMLHttpRequest), so the client runs unmodified and unpolyfilled.
export const TRANSPORTS = [
  { name: "websocket", transport: WebSocket },
  { name: "longpoll", transport: LongPoll },
]
export const WEBSOCKET = TRANSPORTS[0]
export const LONGPOLL = TRANSPORTS[1]

// transportName names a phoenix socket's current transport.
export function transportName(sock) {
  return sock.transport === LongPoll ? "longpoll" : "websocket"
}

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
    // closed resolves once the process exited and its output was read to the end.
    this.closed = new Promise((resolve) => proc.once("close", resolve))
  }

  // socketURL is the endpoint given to phoenix's Socket.
  get socketURL() { return `${this.wsURL}/socket` }

  // wsEndpoint is the raw WebSocket URL with a query string built from params.
  wsEndpoint(params = {}) {
    const q = new URLSearchParams(params).toString()
    return `${this.wsURL}/socket/websocket${q ? "?" + q : ""}`
  }

  // lpEndpoint is the raw LongPoll URL with a query string built from params
  // (an object, or an array of [key, value] pairs to repeat a key).
  lpEndpoint(params = {}) {
    const q = new URLSearchParams(params).toString()
    return `${this.httpURL}/socket/longpoll${q ? "?" + q : ""}`
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

// startApp builds (once) and starts the app on a free port (or on port),
// waits for the "listening on http://ADDR" line and returns an App. args are
// extra command-line arguments (a cluster node's -broker and -node), env
// extra environment variables.
export async function startApp({ name = "app", readyTimeoutMs = 60000, args = [], env = {}, port = 0 } = {}) {
  const bin = buildApp()
  if (!port) port = await freePort()
  const logDir = process.env.SUZAKU_E2E_LOGS || path.join(e2eDir, "artifacts")
  mkdirSync(logDir, { recursive: true })
  const logPath = path.join(logDir, `${name}-${port}.log`)
  const logStream = createWriteStream(logPath, { flags: "a" }) // a restarted node appends
  const proc = spawn(bin, ["-addr", `127.0.0.1:${port}`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  proc.stderr.pipe(logStream, { end: false })
  const stderr = []
  proc.stderr.on("data", (chunk) => stderr.push(chunk))
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
  const app = new App(proc, addr, logPath)
  app.stderr = () => Buffer.concat(stderr).toString("utf8")
  return app
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
// Its sockets use the transport tr (an entry of TRANSPORTS) unless a socket's
// options name another.
export class Session {
  constructor(app, tr = WEBSOCKET) {
    this.app = app
    this.tr = tr
    this.sockets = []
    this.raws = []
    this.lps = []
  }

  // socket creates (but does not connect) a phoenix Socket for user.
  // Extra phoenix options are passed through; params override {user}.
  socket(user, opts = {}) {
    const params = opts.params !== undefined ? opts.params : { user }
    const s = new Socket(this.app.socketURL, {
      transport: this.tr.transport,
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

  // lp opens a raw LongPoll session (see LPRaw.open).
  async lp(params, opts) {
    const l = await LPRaw.open(this.app, params, opts)
    this.lps.push(l)
    return l
  }

  async close() {
    for (const s of this.sockets) {
      try { s.disconnect() } catch { /* already gone */ }
    }
    for (const l of this.lps) l.close()
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
// Presence (phoenix's JS Presence class, docs/protocol.md §6.3)

const copy = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))

// refsOf turns a presence map ({key: {metas: [...]}}, as in presence_state or
// Presence's state) into {key: [phx_ref, ...]} with the refs sorted.
export function refsOf(state) {
  const out = {}
  for (const key of Object.keys(state).sort()) out[key] = state[key].metas.map((m) => m.phx_ref).sort()
  return out
}

// countsOf turns a presence map into {key: number of metas}, keys sorted.
export function countsOf(state) {
  const out = {}
  for (const key of Object.keys(state).sort()) out[key] = state[key].metas.length
  return out
}

// sortKeys returns obj with its keys in sorted order (for comparing as JSON).
export function sortKeys(obj) {
  return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]))
}

// PresenceProbe is a JS Presence on a channel (make it before the join, as an
// app does) whose onJoin, onLeave and onSync are recorded.
export class PresenceProbe {
  constructor(channel, name = channel.topic) {
    this.name = name
    this.presence = new Presence(channel)
    this.syncs = 0
    this.joins = new Recorder(`presence onJoin (${name})`)
    this.leaves = new Recorder(`presence onLeave (${name})`)
    this.waiters = new Set()
    this.presence.onJoin((key, current, joined) => this.joins.push({ key, current: copy(current), joined: copy(joined) }))
    this.presence.onLeave((key, current, left) => this.leaves.push({ key, current: copy(current), left: copy(left) }))
    this.presence.onSync(() => {
      this.syncs++
      for (const w of this.waiters) w()
    })
  }

  // list is Presence.list() as {key: metas}.
  list() {
    return Object.fromEntries(this.presence.list((key, p) => [key, copy(p.metas)]))
  }

  // state is Presence.list() as {key: {metas}}, the shape of presence_state.
  state() {
    return Object.fromEntries(this.presence.list((key, p) => [key, { metas: copy(p.metas) }]))
  }

  refs() { return refsOf(this.state()) }
  counts() { return countsOf(this.state()) }

  // until resolves once pred(this) holds, checking now and after every onSync.
  until(pred, { timeout = WAIT_MS, what } = {}) {
    if (pred(this)) return Promise.resolve(this)
    const d = deferred()
    const check = () => { if (pred(this)) d.resolve(this) }
    this.waiters.add(check)
    return withTimeout(d.promise, timeout, () => `${what || `presence of ${this.name} matching ${pred}`}; list is ${JSON.stringify(this.list())}`)
      .finally(() => this.waiters.delete(check))
  }

  // untilCounts waits until the list has exactly these keys with these numbers of metas.
  untilCounts(counts, opts = {}) {
    const want = JSON.stringify(sortKeys(counts))
    return this.until((p) => JSON.stringify(p.counts()) === want, { what: `presence of ${this.name} with ${want}`, ...opts })
  }
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
// Raw LongPoll client (docs/protocol.md §5)

// lpRequest sends one request to url and resolves with {http, headers, text,
// body}: the HTTP status, the headers, the raw text and the parsed JSON body
// (null when the text is not JSON).
export async function lpRequest(url, { method = "GET", headers = {}, body, signal } = {}) {
  const res = await fetch(url, { method, headers, body, signal })
  const text = await res.text()
  let parsed = null
  try { parsed = JSON.parse(text) } catch { /* not JSON */ }
  return { http: res.status, headers: res.headers, text, body: parsed }
}

// LPRaw is a LongPoll session driven by hand: it polls with its session token
// and records the frames of every 200 poll (parsed; presence_* frames skipped,
// as Raw does). Params are [key, value] pairs so that a key can repeat; the
// session token is appended last, as phoenix.js does.
export class LPRaw {
  constructor(app, params, token) {
    this.app = app
    this.params = params
    this.token = token
    this.frames = new Recorder("longpoll frames")
    this.cursor = 0
    this.polls = [] // every poll answer: {http, headers, text, body}
    this.inflight = new Set()
  }

  // open runs the handshake (a GET without a session token) and resolves with
  // the session; the answer is in .opened. It throws unless the answer is a 410
  // with a token. params: an object or [key, value] pairs; vsn=2.0.0 is added
  // unless given (vsn: null leaves it out).
  static async open(app, params = {}, { headers = {} } = {}) {
    let pairs = Array.isArray(params) ? params.slice() : Object.entries(params)
    if (!pairs.some(([k]) => k === "vsn")) pairs.push(["vsn", "2.0.0"])
    pairs = pairs.filter(([, v]) => v !== null)
    const r = await lpRequest(app.lpEndpoint(pairs), { headers })
    if (!r.body || r.body.status !== 410 || typeof r.body.token !== "string") {
      throw new Error(`LongPoll handshake: got HTTP ${r.http} ${r.text}, want {"status":410,"token":…}`)
    }
    const lp = new LPRaw(app, pairs, r.body.token)
    lp.opened = r
    return lp
  }

  // url is the endpoint with the params and, unless token is null, the
  // session token as the last "token" param.
  url(token = this.token) {
    const pairs = token === null ? this.params : [...this.params, ["token", token]]
    return this.app.lpEndpoint(pairs)
  }

  // request sends a request that is aborted by close().
  async request(opts = {}, url = this.url()) {
    const ctl = new AbortController()
    this.inflight.add(ctl)
    try {
      return await lpRequest(url, { ...opts, signal: ctl.signal })
    } finally {
      this.inflight.delete(ctl)
    }
  }

  // post sends frames: an array of lines (V2 arrays or base64 strings) joined
  // with sep as ndjson, or a string body sent as is with contentType.
  post(lines, { contentType = "application/x-ndjson", sep = "\n", headers = {}, url } = {}) {
    const body = typeof lines === "string" ? lines : lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join(sep)
    return this.request({ method: "POST", headers: { "content-type": contentType, ...headers }, body }, url)
  }

  // postOk posts and fails unless the answer is HTTP 200 {"status":200}.
  async postOk(lines, opts) {
    const r = await this.post(lines, opts)
    if (r.http !== 200 || r.text !== '{"status":200}') throw new Error(`LongPoll POST: got HTTP ${r.http} ${r.text}, want 200 {"status":200}`)
    return r
  }

  // poll sends one GET and records the frames of a 200 answer.
  async poll(opts = {}) {
    const r = await this.request({ method: "GET", headers: { accept: "application/json", ...(opts.headers || {}) } }, opts.url)
    this.polls.push(r)
    if (r.body && r.body.status === 200 && Array.isArray(r.body.messages)) {
      for (const m of r.body.messages) {
        let f
        try { f = typeof m === "string" ? JSON.parse(m) : { notAString: m } } catch { f = { unparsable: m } }
        if (isPresence(f)) continue
        this.frames.push(f)
      }
    }
    return r
  }

  // startPolling polls in a loop, in the background, until close() or until
  // an answer other than 200 or 204 (kept in .ended). next() starts it; a
  // test that wants to see single polls calls poll() itself instead.
  startPolling() {
    if (this.looping) return
    this.looping = (async () => {
      while (!this.closed) {
        const r = await this.poll().catch((err) => ({ error: err }))
        if (r.error || !r.body || ![200, 204].includes(r.body.status)) { this.ended = r; break }
      }
    })()
  }

  // next resolves with the next frame (in arrival order, after the ones
  // already consumed) that matches pred, polling in the background.
  async next(pred = () => true, timeout = WAIT_MS, what = "next longpoll frame") {
    this.startPolling()
    const from = this.cursor
    const f = await this.frames.waitFor(pred, {
      timeout, from,
      what: () => `${what}; frames since: ${JSON.stringify(this.frames.items.slice(from))}; last poll: ${this.polls.length ? this.polls[this.polls.length - 1].text : "none"}${this.ended ? `; polling ended: ${this.ended.error || this.ended.text}` : ""}`,
    })
    this.cursor = this.frames.items.indexOf(f, from) + 1
    return f
  }

  // reply waits for the phx_reply with ref on topic.
  reply(topic, ref, timeout = WAIT_MS) {
    return this.next((f) => Array.isArray(f) && f[1] === ref && f[2] === topic && f[3] === "phx_reply",
      timeout, `phx_reply ref ${ref} on ${topic}`)
  }

  // join posts a phx_join and returns its reply frame.
  async join(topic, payload = {}, joinRef = uid("j"), ref = joinRef) {
    await this.postOk([[joinRef, ref, topic, "phx_join", payload]])
    return this.reply(topic, ref)
  }

  // close stops polling and cancels the requests in flight; the session
  // itself stays until the server times it out.
  close() {
    this.closed = true
    for (const ctl of this.inflight) ctl.abort()
    this.inflight.clear()
  }
}

// ---------------------------------------------------------------------------
// Binary frames (docs/protocol.md §2.3)

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
// test t ends; its sockets use transport tr (WebSocket by default).
export function session(t, app, tr = WEBSOCKET) {
  const s = new Session(app, tr)
  t.after(() => s.close())
  return s
}

// useApp starts one app for the calling test file (in before) and stops it
// (in after); the returned object's .app is set once started.
// After the stop, it fails if the race detector (SUZAKU_E2E_RACE=1) reported
// a data race in the app.
export function useApp(hooks, name) {
  const holder = { app: null }
  hooks.before(async () => { holder.app = await startApp({ name }) })
  hooks.after(async () => {
    const app = holder.app
    if (!app) return
    await app.stop()
    await withTimeout(app.closed, 5000, "the app's output to end").catch(() => {})
    const out = app.stderr()
    const i = out.indexOf("WARNING: DATA RACE")
    if (i >= 0) throw new Error(`the race detector reported a data race in the app (log ${app.logPath}):\n${out.slice(i, i + 6000)}`)
  })
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
