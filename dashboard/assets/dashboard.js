// The suzaku dashboard page: joins "suzaku:dashboard" on the dashboard's own
// socket with the official phoenix client and renders the samples every node
// publishes once a second. No build step: this file and phoenix.mjs are
// embedded in the Go binary.
import { Socket } from "./phoenix.mjs"

const body = document.body.dataset
const HISTORY = 120
const nodes = new Map() // node -> samples, oldest first

const fmt = {
  int: (v) => Math.round(v).toLocaleString("en-US"),
  rate: (v) => (v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1)),
  ms: (s) => (s * 1000 >= 10 ? (s * 1000).toFixed(0) : (s * 1000).toFixed(2)) + " ms",
  bytes: (b) => {
    const u = ["B", "KiB", "MiB", "GiB"]
    let i = 0
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++ }
    return b.toFixed(i ? 1 : 0) + " " + u[i]
  },
}

// rate turns a counter field into a per-second series.
function rate(samples, key) {
  const out = []
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000
    const dv = samples[i][key] - samples[i - 1][key]
    out.push(dt > 0 && dv >= 0 ? dv / dt : 0)
  }
  return out
}
const gauge = (samples, f) => samples.map(f)

// sum adds per-node series, aligned on their latest values.
function sum(series) {
  const n = Math.max(0, ...series.map((s) => s.length))
  const out = new Array(n).fill(0)
  for (const s of series) for (let i = 0; i < s.length; i++) out[n - s.length + i] += s[i]
  return out
}
const maxOf = (series) => {
  const n = Math.max(0, ...series.map((s) => s.length))
  const out = new Array(n).fill(0)
  for (const s of series) for (let i = 0; i < s.length; i++) out[n - s.length + i] = Math.max(out[n - s.length + i], s[i])
  return out
}
const perNode = (f) => [...nodes.values()].map(f)
const last = (a) => (a.length ? a[a.length - 1] : 0)

// The cards: id, title, series (one or two), value and subtitle.
const cards = [
  { id: "conns", title: "Connections", series: () => [sum(perNode((s) => gauge(s, (x) => x.conns.websocket + x.conns.longpoll)))],
    sub: () => `websocket ${fmt.int(sum(perNode((s) => gauge(s, (x) => x.conns.websocket))).at(-1) ?? 0)} · longpoll ${fmt.int(sum(perNode((s) => gauge(s, (x) => x.conns.longpoll))).at(-1) ?? 0)}`, f: fmt.int },
  { id: "channels", title: "Channels", series: () => [sum(perNode((s) => gauge(s, (x) => x.channels)))], f: fmt.int },
  { id: "joins", title: "Joins / s", series: () => [sum(perNode((s) => rate(s, "joins")))], f: fmt.rate,
    sub: () => `errors/s ${fmt.rate(last(sum(perNode((s) => rate(s, "join_errors")))))}` },
  { id: "in", title: "Messages in / s", series: () => [sum(perNode((s) => rate(s, "in")))], f: fmt.rate },
  { id: "out", title: "Messages out / s", series: () => [sum(perNode((s) => rate(s, "out")))], f: fmt.rate },
  { id: "broadcasts", title: "Broadcasts / s", series: () => [sum(perNode((s) => rate(s, "broadcasts")))], f: fmt.rate,
    sub: () => {
      const b = last(sum(perNode((s) => rate(s, "broadcasts")))), d = last(sum(perNode((s) => rate(s, "fanout"))))
      return `fan-out ${b > 0 ? fmt.rate(d / b) : "–"} · deliveries/s ${fmt.rate(d)}`
    } },
  { id: "handle", title: "Handler p50 / p99", series: () => [maxOf(perNode((s) => gauge(s, (x) => x.handle_p50))), maxOf(perNode((s) => gauge(s, (x) => x.handle_p99)))],
    value: (ser) => `${fmt.ms(last(ser[0]))} / ${fmt.ms(last(ser[1]))}`, raw: (ser) => last(ser[1]) },
  { id: "bcast", title: "Broadcast p50 / p99", series: () => [maxOf(perNode((s) => gauge(s, (x) => x.bcast_p50))), maxOf(perNode((s) => gauge(s, (x) => x.bcast_p99)))],
    value: (ser) => `${fmt.ms(last(ser[0]))} / ${fmt.ms(last(ser[1]))}`, raw: (ser) => last(ser[1]) },
  { id: "slow", title: "Slow clients dropped", series: () => [sum(perNode((s) => rate(s, "slow")))],
    value: () => fmt.int(sum(perNode((s) => gauge(s, (x) => x.slow))).at(-1) ?? 0), raw: () => sum(perNode((s) => gauge(s, (x) => x.slow))).at(-1) ?? 0,
    sub: () => `limits hit ${fmt.int(sum(perNode((s) => gauge(s, (x) => x.limits))).at(-1) ?? 0)} · crashes ${fmt.int(sum(perNode((s) => gauge(s, (x) => x.crashes))).at(-1) ?? 0)}` },
  { id: "presence", title: "Presences", series: () => [sum(perNode((s) => gauge(s, (x) => (x.presence ? x.presence.presences : 0))))], f: fmt.int,
    sub: () => {
      const p = [...nodes.values()].map((s) => s.at(-1)?.presence).filter(Boolean)
      return p.length ? `topics ${fmt.int(Math.max(...p.map((x) => x.topics)))} · peers down ${Math.max(...p.map((x) => x.peers_down))}` : "no tracker"
    } },
  { id: "mem", title: "Memory", series: () => [sum(perNode((s) => gauge(s, (x) => x.mem)))], f: fmt.bytes,
    sub: () => `heap ${fmt.bytes(sum(perNode((s) => gauge(s, (x) => x.heap))).at(-1) ?? 0)}` },
  { id: "goroutines", title: "Goroutines", series: () => [sum(perNode((s) => gauge(s, (x) => x.goroutines)))], f: fmt.int },
  { id: "gc", title: "GC cycles / s", series: () => [sum(perNode((s) => rate(s, "gc")))], f: fmt.rate,
    sub: () => `pause p99 ${fmt.ms(Math.max(0, ...perNode((s) => s.at(-1)?.gc_pause_p99 ?? 0)))}` },
  { id: "broker", title: "Broker round trip", series: () => [maxOf(perNode((s) => gauge(s, (x) => x.broker.round_trip_ms)))],
    value: () => {
      const st = perNode((s) => s.at(-1)?.broker.status)
      return st.includes("down") ? "down" : st.includes("up") ? "up" : "local"
    },
    raw: (ser) => last(ser[0]), sub: (ser) => `check ${last(ser[0]).toFixed(2)} ms (slowest node)` },
]

const grid = document.getElementById("cards")
for (const c of cards) {
  const el = document.createElement("div")
  el.className = "card"
  el.id = "card-" + c.id
  el.innerHTML = `<h2></h2><div class="v" id="v-${c.id}" data-value="0">–</div><div class="sub"></div><svg viewBox="0 0 ${HISTORY} 36" preserveAspectRatio="none"><polyline/><polyline class="b"/></svg>`
  el.querySelector("h2").textContent = c.title
  grid.append(el)
  c.el = el
}

function spark(poly, data, max) {
  const pts = data.slice(-HISTORY)
  const x0 = HISTORY - pts.length
  poly.setAttribute("points", pts.map((v, i) => `${x0 + i},${(34 - (max > 0 ? (v / max) * 32 : 0)).toFixed(1)}`).join(" "))
}

function render() {
  for (const c of cards) {
    const ser = c.series()
    const v = c.value ? c.value(ser) : c.f(last(ser[0]))
    const raw = c.raw ? c.raw(ser) : last(ser[0])
    const ve = c.el.querySelector(".v")
    ve.textContent = v
    ve.dataset.value = String(raw)
    c.el.querySelector(".sub").textContent = c.sub ? c.sub(ser) : ""
    const max = Math.max(0, ...ser.flat())
    const polys = c.el.querySelectorAll("polyline")
    spark(polys[0], ser[0], max)
    spark(polys[1], ser[1] || [], max)
  }
  const now = Date.now()
  const rows = [...nodes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([node, s]) => {
    const x = s.at(-1)
    const tr = document.createElement("tr")
    const cells = [node, `${Math.max(0, Math.round((now - x.t) / 1000))} s ago`, fmt.int(x.conns.websocket), fmt.int(x.conns.longpoll),
      fmt.int(x.channels), fmt.rate(last(rate(s, "in"))), fmt.rate(last(rate(s, "out"))), fmt.bytes(x.heap), fmt.int(x.goroutines), x.broker.status]
    for (const v of cells) { const td = document.createElement("td"); td.textContent = v; tr.append(td) }
    return tr
  })
  document.querySelector("#nodes tbody").replaceChildren(...rows)
  const patterns = new Map()
  for (const s of nodes.values()) for (const p of s.at(-1)?.patterns || []) patterns.set(p.pattern, (patterns.get(p.pattern) || 0) + p.channels)
  const prow = [...patterns.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([p, n]) => {
    const tr = document.createElement("tr")
    for (const v of [p, fmt.int(n)]) { const td = document.createElement("td"); td.textContent = v; tr.append(td) }
    return tr
  })
  document.querySelector("#patterns tbody").replaceChildren(...prow)
  document.getElementById("updated").textContent = new Date().toLocaleTimeString()
  document.body.dataset.samples = String([...nodes.values()].reduce((n, s) => n + s.length, 0))
}

let pending = false
function schedule() {
  if (pending) return
  pending = true
  requestAnimationFrame(() => { pending = false; render() })
}

function add(sample) {
  const s = nodes.get(sample.node) || []
  if (s.length && s.at(-1).t >= sample.t) return // a replay
  s.push(sample)
  if (s.length > HISTORY + 1) s.shift()
  nodes.set(sample.node, s)
}

// Forget nodes silent for a minute: they left the cluster.
setInterval(() => {
  for (const [n, s] of nodes) if (Date.now() - s.at(-1).t > 60000) nodes.delete(n)
  schedule()
}, 5000)

const status = document.getElementById("status")
const socket = new Socket(location.pathname.replace(/\/?$/, "/") + "socket", { params: { ticket: body.ticket } })
socket.onOpen(() => { status.textContent = "connected"; status.className = "up" })
socket.onClose(() => { status.textContent = "reconnecting"; status.className = "down" })
socket.connect()
const ch = socket.channel("suzaku:dashboard", {})
ch.on("stats", (sample) => { add(sample); schedule() })
ch.join().receive("ok", (reply) => {
  for (const [, samples] of Object.entries(reply.history || {})) for (const s of samples) add(s)
  schedule()
})
window.suzakuDashboard = { nodes, render }
