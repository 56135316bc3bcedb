// A round-robin reverse proxy for the cluster tests: every HTTP request and
// every WebSocket upgrade goes to the next backend in turn, with no sticky
// sessions, so that one LongPoll session's polls and POSTs land on different
// nodes. A backend that refuses the TCP connection (a killed node) is skipped
// and the request goes to the next one, as nginx's `proxy_next_upstream error`
// does; nothing was sent to it, so the retry is safe. A request that fails
// after it reached a backend gets a 502.
//
//   const p = await RoundRobinProxy.start(["127.0.0.1:4001", "127.0.0.1:4002"])
//   p.url            // http://127.0.0.1:PORT
//   p.routes         // [{backend, method, path, query, upgrade, at}], at: arrival time
//   await p.close()

import http from "node:http"
import net from "node:net"

// hopByHop are the headers a proxy must not forward (RFC 9110 §7.6.1); an
// upgrade keeps Connection and Upgrade, which it forwards as they came.
const hopByHop = new Set([
  "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
])

// MAX_BODY bounds a buffered request body (LongPoll POSTs are small).
const MAX_BODY = 1 << 20

export class RoundRobinProxy {
  constructor(backends) {
    this.backends = backends.slice() // "host:port"
    this.next = 0
    this.routes = []
    this.sockets = new Set() // every client and backend socket, to close them all
    this.server = http.createServer((req, res) => this.#request(req, res))
    this.server.on("upgrade", (req, sock, head) => this.#upgrade(req, sock, head))
    this.server.on("connection", (s) => this.#track(s))
  }

  // start listens on a free loopback port.
  static async start(backends) {
    const p = new RoundRobinProxy(backends)
    await new Promise((resolve, reject) => {
      p.server.once("error", reject)
      p.server.listen(0, "127.0.0.1", resolve)
    })
    p.addr = `127.0.0.1:${p.server.address().port}`
    p.url = `http://${p.addr}`
    p.wsURL = `ws://${p.addr}`
    return p
  }

  // socketURL is the endpoint for phoenix's Socket.
  get socketURL() { return `${this.wsURL}/socket` }

  // setBackends replaces the backend list (a node added or removed).
  setBackends(backends) { this.backends = backends.slice() }

  // backendsOf lists the distinct backends that served the requests matching pred.
  backendsOf(pred) {
    return [...new Set(this.routes.filter(pred).map((r) => r.backend))]
  }

  // order yields every backend once, starting with the next in turn.
  #order() {
    const n = this.backends.length
    const start = this.next++ % Math.max(n, 1)
    return Array.from({ length: n }, (_, i) => this.backends[(start + i) % n])
  }

  #track(s) {
    this.sockets.add(s)
    s.once("close", () => this.sockets.delete(s))
  }

  // #record notes where req went; at is when it arrived.
  #record(backend, req, upgrade, at) {
    const u = new URL(req.url, "http://proxy")
    this.routes.push({ backend, method: req.method, path: u.pathname, query: u.searchParams, upgrade, at })
  }

  async #request(req, res) {
    const at = Date.now()
    let body
    try {
      body = await readBody(req)
    } catch (err) {
      res.writeHead(413).end(String(err.message))
      return
    }
    const headers = {}
    for (const [k, v] of Object.entries(req.headers)) if (!hopByHop.has(k)) headers[k] = v
    headers["x-forwarded-for"] = req.socket.remoteAddress
    headers["content-length"] = String(body.length)
    // A client that goes away aborts its request upstream too (a LongPoll
    // client aborts its poll when it closes).
    let upstream = null
    res.once("close", () => { if (!res.writableFinished && upstream) upstream.destroy() })
    for (const backend of this.#order()) {
      if (res.destroyed) return
      const r = await forward(backend, req, headers, body, (out) => { upstream = out })
      if (r.refused) continue
      this.#record(backend, req, false, at)
      if (r.error) {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
        res.end(`proxy: ${backend}: ${r.error.message}`)
        return
      }
      const out = {}
      for (const [k, v] of Object.entries(r.res.headers)) if (!hopByHop.has(k)) out[k] = v
      res.writeHead(r.res.statusCode, out)
      r.res.pipe(res)
      r.res.on("error", () => res.destroy())
      return
    }
    res.writeHead(502, { "content-type": "text/plain" }).end("proxy: no backend accepts connections")
  }

  async #upgrade(req, client, head) {
    const at = Date.now()
    client.on("error", () => {})
    for (const backend of this.#order()) {
      const up = await dial(backend)
      if (!up) continue
      this.#track(up)
      this.#record(backend, req, true, at)
      up.on("error", () => client.destroy())
      client.on("error", () => up.destroy())
      up.once("close", () => client.destroy())
      client.once("close", () => up.destroy())
      let raw = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
      raw += `X-Forwarded-For: ${client.remoteAddress}\r\n\r\n`
      up.write(raw)
      if (head && head.length) up.write(head)
      up.pipe(client)
      client.pipe(up)
      return
    }
    client.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
  }

  // dropConnections cuts every proxied connection at once (the clients see
  // their WebSocket end abnormally, 1006).
  dropConnections() {
    for (const s of this.sockets) s.destroy()
  }

  async close() {
    this.dropConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let n = 0
    req.on("data", (c) => {
      n += c.length
      if (n > MAX_BODY) { reject(new Error("request body too large for the test proxy")); req.destroy(); return }
      chunks.push(c)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })
}

// dial opens a TCP connection to backend, or resolves null when it is refused.
function dial(backend) {
  const [host, port] = splitHostPort(backend)
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once("connect", () => { s.removeAllListeners("error"); resolve(s) })
    s.once("error", () => { s.destroy(); resolve(null) })
  })
}

// forward sends one request to backend: {refused} when the backend did not
// accept the connection, {error} when it failed after that, else {res}.
function forward(backend, req, headers, body, onRequest) {
  const [host, port] = splitHostPort(backend)
  return new Promise((resolve) => {
    let connected = false
    const out = http.request({ host, port, method: req.method, path: req.url, headers, agent: false })
    onRequest(out)
    out.on("socket", (s) => s.once("connect", () => { connected = true }))
    out.once("response", (res) => resolve({ res }))
    out.once("error", (error) => resolve(connected ? { error } : { refused: true, error }))
    out.end(body)
  })
}

function splitHostPort(hp) {
  const i = hp.lastIndexOf(":")
  return [hp.slice(0, i), Number(hp.slice(i + 1))]
}
