// A small loopback HTTP server for the browser test: it serves a test page and
// phoenix's ESM build from node_modules (no bundler), and reverse-proxies
// /socket/* (LongPoll requests and WebSocket upgrades) and /api/* to the app,
// so that the page and its socket are same-origin. It records every proxied
// request, so a test can tell which transport the page really used.

import http from "node:http"
import net from "node:net"
import path from "node:path"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const e2eDir = path.dirname(fileURLToPath(import.meta.url))
const phoenixMjs = path.join(e2eDir, "node_modules", "phoenix", "priv", "static", "phoenix.mjs")

const proxied = (p) => p.startsWith("/socket/") || p.startsWith("/api/")

// startPageServer serves html at "/" and phoenix at "/phoenix.mjs", proxies
// to app, and resolves with {url, requests, upgrades, close()}.
export async function startPageServer(app, { html }) {
  const phoenix = readFileSync(phoenixMjs)
  const [host, port] = [app.addr.slice(0, app.addr.lastIndexOf(":")), Number(app.addr.slice(app.addr.lastIndexOf(":") + 1))]
  const requests = [] // {method, path} of every proxied HTTP request
  const upgrades = [] // paths of every proxied WebSocket upgrade
  const sockets = new Set()

  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, "http://page.invalid")
    if (proxied(pathname)) {
      requests.push({ method: req.method, path: req.url })
      const up = http.request({ host, port, method: req.method, path: req.url, headers: { ...req.headers, host: app.addr } }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers)
        ur.pipe(res)
      })
      up.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
        res.end(`proxy: ${err.message}`)
      })
      // A poll the page gives up (phoenix aborts it on disconnect) is given up upstream too.
      res.on("close", () => { if (!res.writableFinished) up.destroy() })
      req.pipe(up)
      return
    }
    if (req.method === "GET" && pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      res.end(html)
      return
    }
    if (req.method === "GET" && pathname === "/phoenix.mjs") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" })
      res.end(phoenix)
      return
    }
    res.writeHead(404, { "content-type": "text/plain" })
    res.end("not found")
  })

  // WebSocket upgrades are tunnelled as raw bytes, so the proxy is not what
  // keeps a page's WebSocket from working.
  server.on("upgrade", (req, sock, head) => {
    const { pathname } = new URL(req.url, "http://page.invalid")
    upgrades.push(req.url)
    if (!proxied(pathname)) { sock.destroy(); return }
    const up = net.connect(port, host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]
        lines.push(`${k}: ${k.toLowerCase() === "host" ? app.addr : req.rawHeaders[i + 1]}`)
      }
      up.write(lines.join("\r\n") + "\r\n\r\n")
      if (head && head.length) up.write(head)
      up.pipe(sock)
      sock.pipe(up)
    })
    const done = () => { up.destroy(); sock.destroy() }
    up.on("error", done)
    sock.on("error", done)
    up.on("close", done)
    sock.on("close", done)
  })

  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)) })
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", resolve)
  })
  const { port: own } = server.address()
  return {
    url: `http://127.0.0.1:${own}`,
    requests,
    upgrades,
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
