// The Phoenix socket of a signed-in user and the connection status shown in
// the header ("connected" / "reconnecting" / "offline"), the health dot fed by
// the server's `ping` pushes, and the banner shown while reconnecting.

import { Socket } from "phoenix"

export type Status = "connected" | "reconnecting" | "offline"
export type Health = "ok" | "stale" | "idle"

/** A room channel counts as healthy while its last server ping is younger than this. */
export const PING_FRESH_MS = 12_000

export interface ConnectionView {
  status: Status
  health: Health
  /** Whether the reconnecting/offline banner should be shown. */
  banner: boolean
  transport: "websocket" | "longpoll"
  /** Age of the last server ping in ms, or null if none came on the current room. */
  pingAgeMs: number | null
}

/**
 * Delays before trying to go back from LongPoll to WebSocket (see
 * scheduleUpgrade), then every UPGRADE_MAX_MS.
 */
const UPGRADE_DELAYS_MS = [10_000, 30_000, 60_000, 120_000]
const UPGRADE_MAX_MS = 300_000

export class Connection {
  readonly socket: Socket
  /** The WebSocket class of the page, captured before phoenix may swap in LongPoll. */
  private readonly webSocketClass: unknown
  private wsWorked = false
  private wsOpenedAt: number | null = null
  private upgradeTries = 0
  private upgradeTimer: number | null = null
  /** No banner while a transport upgrade attempt is under way (a planned swap). */
  private upgradingUntil = 0
  private closedByUs = false
  private everOpened = false
  private troubled = false
  private lastPingAt: number | null = null
  private watchingSince: number | null = null
  private listeners = new Set<(v: ConnectionView) => void>()
  private tick: number
  private refs: string[] = []
  private onlineHandler = () => this.emit()

  constructor(token: string, onTransportError: () => void) {
    this.socket = new Socket("/socket", {
      // The API token goes in the WebSocket subprotocol
      // (base64url.bearer.phx.<token>), never in the URL; LongPoll sends it
      // as the X-Phoenix-AuthToken header.
      authToken: token,
      // Fall back to LongPoll when the WebSocket fails or does not answer
      // its first heartbeat within 2.5 s (proxies that block WebSockets).
      longPollFallbackMs: 2500,
    })
    this.webSocketClass = this.socket.transport
    this.refs.push(
      this.socket.onOpen(() => {
        this.everOpened = true
        this.troubled = false
        if (this.onLongPoll()) {
          // A WebSocket that lasted a minute worked: this is a new outage,
          // not a network that breaks WebSockets, so start the backoff over.
          if (this.wsOpenedAt !== null && Date.now() - this.wsOpenedAt > 60_000) this.upgradeTries = 0
          this.wsOpenedAt = null
          this.scheduleUpgrade()
        } else {
          this.wsWorked = true
          this.wsOpenedAt = Date.now()
        }
        this.emit()
      }),
      this.socket.onClose(() => {
        if (!this.closedByUs) this.troubled = true
        this.emit()
      }),
      this.socket.onError(() => {
        this.troubled = true
        // Before any successful open, an error may mean the token was
        // rejected; the app checks that over the API (which answers 401).
        if (!this.everOpened) onTransportError()
        this.emit()
      }),
    )
    window.addEventListener("online", this.onlineHandler)
    window.addEventListener("offline", this.onlineHandler)
    this.tick = window.setInterval(() => this.emit(), 1000)
    this.socket.connect()
  }

  private onLongPoll(): boolean {
    return this.socket.transport === this.socket.getLongPollTransport()
  }

  /**
   * phoenix 1.8.16 falls back to LongPoll whenever a reconnect's WebSocket
   * fails before opening, so a server restart moves every open page to
   * LongPoll for good (phoenixframework/phoenix PR #6208, open). When the
   * WebSocket did work in this page, we try it again after a while; if it
   * fails again, phoenix falls back to LongPoll again and we back off.
   * Pages that never had a working WebSocket (a blocking proxy: phoenix
   * memorizes the fallback) stay on LongPoll.
   */
  private scheduleUpgrade(): void {
    if (!this.wsWorked || this.closedByUs || this.upgradeTimer !== null) return
    const delay = UPGRADE_DELAYS_MS[this.upgradeTries] ?? UPGRADE_MAX_MS
    this.upgradeTries++
    this.upgradeTimer = window.setTimeout(() => {
      this.upgradeTimer = null
      if (this.closedByUs || !this.onLongPoll() || !this.socket.isConnected()) return
      this.upgradingUntil = Date.now() + 5000
      this.socket.replaceTransport(this.webSocketClass)
      this.socket.connect()
      this.emit()
    }, delay)
  }

  /** Stops the socket for good (sign out). */
  close(): void {
    this.closedByUs = true
    if (this.upgradeTimer !== null) window.clearTimeout(this.upgradeTimer)
    window.clearInterval(this.tick)
    window.removeEventListener("online", this.onlineHandler)
    window.removeEventListener("offline", this.onlineHandler)
    this.socket.disconnect()
    this.emit()
    this.socket.off(this.refs)
    this.listeners.clear()
  }

  /** A room channel was joined: the health dot now waits for its pings. */
  watchPings(): void {
    this.watchingSince = Date.now()
    this.lastPingAt = null
    this.emit()
  }

  /** No room channel is joined: no pings are expected. */
  unwatchPings(): void {
    this.watchingSince = null
    this.lastPingAt = null
    this.emit()
  }

  notePing(): void {
    this.lastPingAt = Date.now()
    this.emit()
  }

  subscribe(fn: (v: ConnectionView) => void): () => void {
    this.listeners.add(fn)
    fn(this.view())
    return () => this.listeners.delete(fn)
  }

  view(): ConnectionView {
    const now = Date.now()
    let status: Status
    if (this.closedByUs || !navigator.onLine) status = "offline"
    else if (this.socket.isConnected()) status = "connected"
    else status = "reconnecting"

    let health: Health = "idle"
    const pingAgeMs = this.lastPingAt === null ? null : now - this.lastPingAt
    if (status !== "connected") health = "stale"
    else if (this.watchingSince !== null) {
      const since = this.lastPingAt ?? this.watchingSince
      // Give a fresh join one ping period before calling it stale.
      health = now - since < PING_FRESH_MS ? (this.lastPingAt === null ? "idle" : "ok") : "stale"
    }
    const transport = this.socket.transport === this.socket.getLongPollTransport() ? "longpoll" : "websocket"
    const banner =
      status === "offline"
        ? !this.closedByUs
        : status === "reconnecting" && (this.everOpened || this.troubled) && now >= this.upgradingUntil
    return { status, health, banner, transport, pingAgeMs }
  }

  private emit(): void {
    const v = this.view()
    for (const fn of this.listeners) fn(v)
  }
}
