// One room: history over the API (cursor pagination), live messages, presence,
// typing indicator and the server's health pings over the `room:<id>` channel.

import { Presence, type Channel, type PresenceEntry } from "phoenix"
import { api, ApiError, describeError, type Message } from "../api"
import type { Connection } from "../connection"
import { h, replace } from "../dom"
import type { User } from "../session"

/** Stop announcing "typing" after this much idle time in the input. */
const TYPING_IDLE_MS = 3000
/** While typing goes on, say so again this often (others forget after TYPING_FORGET_MS). */
const TYPING_REPEAT_MS = 3000
/** Forget another user's "typing" when no update came for this long (a lost typing:false). */
const TYPING_FORGET_MS = 6000
const PAGE_SIZE = 50

interface ShownMessage {
  key: string
  id: string | number | null
  user: string
  body: string
  insertedAt: number | null
  /** Local order, for messages whose time we do not know yet (pending ones). */
  seq: number
  pending: boolean
  failed: string | null
}

let seqCounter = 0

/** The server sends `user` as a name; tolerate {name} objects too. */
function userName(u: unknown): string {
  if (typeof u === "string") return u
  if (u && typeof u === "object" && typeof (u as { name?: unknown }).name === "string") return (u as { name: string }).name
  return String(u ?? "?")
}

/** inserted_at as ms since the epoch: numbers are taken as ms (or s), strings parsed as dates. */
function toMs(t: unknown): number | null {
  if (typeof t === "number" && Number.isFinite(t)) return t < 1e12 ? t * 1000 : t
  if (typeof t === "string") {
    const n = Date.parse(t)
    if (!Number.isNaN(n)) return n
    const num = Number(t)
    if (t.trim() !== "" && Number.isFinite(num)) return num < 1e12 ? num * 1000 : num
  }
  return null
}

function compareIds(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0
  if (a === null) return 1
  if (b === null) return -1
  const na = Number(a)
  const nb = Number(b)
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb
  return String(a) < String(b) ? -1 : 1
}

function compareMessages(a: ShownMessage, b: ShownMessage): number {
  // Messages not yet confirmed by the server go last, in the order they were sent.
  const ap = a.pending || a.failed !== null
  const bp = b.pending || b.failed !== null
  if (ap !== bp) return ap ? 1 : -1
  if (ap) return a.seq - b.seq
  if (a.insertedAt !== null && b.insertedAt !== null && a.insertedAt !== b.insertedAt) return a.insertedAt - b.insertedAt
  const byId = compareIds(a.id, b.id)
  return byId !== 0 ? byId : a.seq - b.seq
}

function formatTime(ms: number | null): string {
  if (ms === null) return ""
  const d = new Date(ms)
  const sameDay = d.toDateString() === new Date().toDateString()
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
}

/** The room join's reply: the room, and the room's stream position. */
interface JoinReply {
  room?: { id?: unknown; name?: unknown }
  epoch?: unknown
  offset?: unknown
  recovered?: unknown
}

export class RoomView {
  readonly el: HTMLElement
  private channel: Channel
  private presence: Presence
  private messages = new Map<string, ShownMessage>()
  private next: string | null = null
  private historyLoaded = false
  private loadingOlder = false
  private joinedOnce = false
  /**
   * Where this tab is in the room's stream. The join params are a function
   * of it, which phoenix.js calls on every rejoin: the server then replays
   * what the tab missed ({recovered: true}) instead of a history reload.
   */
  private pos: { epoch: string; offset: number } | null = null
  private destroyed = false
  private typingUsers = new Map<string, number>()
  private typingSentAt = 0
  private typingStopTimer: number | null = null

  private title: HTMLElement
  private scroller: HTMLElement
  private list: HTMLOListElement
  private olderBtn: HTMLButtonElement
  private historyStatus: HTMLElement
  private presenceList: HTMLUListElement
  private typingEl: HTMLElement
  private input: HTMLInputElement
  private sendBtn: HTMLButtonElement
  private roomError: HTMLElement

  constructor(
    private conn: Connection,
    private me: User,
    readonly roomId: string,
    knownName: string | undefined,
  ) {
    this.title = h("h2", { class: "room-title", testid: "room-title" }, knownName ?? `Room ${roomId}`)
    this.olderBtn = h(
      "button",
      { type: "button", class: "secondary load-older", testid: "load-older", hidden: true },
      "Load older messages",
    )
    this.olderBtn.addEventListener("click", () => void this.loadOlder())
    this.historyStatus = h("p", { class: "muted history-status", testid: "history-status" }, "Loading messages…")
    this.list = h("ol", { class: "message-list", testid: "message-list", "aria-live": "polite" })
    this.scroller = h("div", { class: "scroller", testid: "message-scroller" }, this.olderBtn, this.historyStatus, this.list)
    this.presenceList = h("ul", { class: "presence-list", testid: "presence-list", "aria-label": "Who is here" })
    this.typingEl = h("p", { class: "typing", testid: "typing-indicator", "aria-live": "polite" })
    this.roomError = h("p", { class: "form-error", testid: "room-error", role: "alert", hidden: true })

    this.input = h("input", {
      testid: "message-input",
      name: "body",
      placeholder: "Write a message…",
      autocomplete: "off",
      maxlength: 2000,
      "aria-label": "Message",
    })
    this.sendBtn = h("button", { type: "submit", testid: "message-send" }, "Send")
    const composer = h("form", { class: "composer", testid: "composer" }, this.input, this.sendBtn)
    // A plain <form> submits on Enter in the input, so Enter sends too.
    composer.addEventListener("submit", (ev) => {
      ev.preventDefault()
      this.send()
    })
    this.input.addEventListener("input", () => this.onInput())
    this.input.addEventListener("blur", () => this.stopTyping())

    this.el = h(
      "section",
      { class: "room", testid: "room", "data-room-id": roomId },
      h(
        "div",
        { class: "room-main" },
        h("header", { class: "room-header" }, this.title),
        this.roomError,
        this.scroller,
        this.typingEl,
        composer,
      ),
      h("aside", { class: "presence" }, h("h3", {}, "Here now"), this.presenceList),
    )

    this.channel = conn.socket.channel(`room:${roomId}`, () => (this.pos ? { ...this.pos } : {}))
    this.presence = new Presence(this.channel)
    this.presence.onSync(() => this.renderPresence())
    this.channel.on("new_msg", (m: Message, ref?: string) => {
      if (ref && this.pos) this.pos.offset = Number(ref) // the message's offset in the room's stream
      this.onNewMessage(m)
    })
    this.channel.on("typing", (p: { user?: unknown; typing?: unknown }) => this.onTyping(p))
    this.channel.on("ping", () => this.conn.notePing())
    this.channel.onError(() => {
      // The socket dropped: typing states are stale; presence and missed
      // messages are re-synced when the channel rejoins.
      this.typingUsers.clear()
      this.renderTyping()
    })
    this.channel
      .join()
      .receive("ok", (resp: JoinReply) => this.onJoined(resp))
      .receive("error", (resp: { reason?: unknown }) => this.onJoinError(resp))
      .receive("timeout", () => console.warn(`room:${roomId}: join timed out, retrying`))
  }

  destroy(): void {
    this.destroyed = true
    this.stopTyping()
    for (const t of this.typingUsers.values()) window.clearTimeout(t)
    this.channel.leave()
    this.conn.unwatchPings()
  }

  focus(): void {
    this.input.focus()
  }

  private onJoined(resp: JoinReply): void {
    if (this.destroyed) return
    // Recovered: the missed messages follow the reply and move the offset.
    // Otherwise (first join, or a history the server no longer has) start
    // from the server's position.
    const recovered = resp?.recovered === true
    if (!recovered && typeof resp?.epoch === "string" && typeof resp?.offset === "number") {
      this.pos = { epoch: resp.epoch, offset: resp.offset }
    }
    const name = resp?.room?.name
    if (typeof name === "string" && name) {
      this.title.textContent = name
      document.title = `${name} · suzaku chat`
    }
    this.roomError.hidden = true
    this.input.disabled = this.sendBtn.disabled = false
    this.conn.watchPings()
    if (!this.joinedOnce) {
      // History is fetched after the join so that nothing falls between the
      // two: a message sent meanwhile arrives live as well, and is deduped by id.
      this.joinedOnce = true
      void this.loadLatest(true)
    } else if (!recovered) {
      // A rejoin the stream could not recover: fetch the newest page.
      void this.loadLatest(false)
    }
  }

  private onJoinError(resp: { reason?: unknown }): void {
    if (this.destroyed) return
    const reason = typeof resp?.reason === "string" ? resp.reason : "join failed"
    this.showRoomError(reason === "not found" ? "This room does not exist." : `Cannot join this room: ${reason}`)
    // Phoenix would retry an errored join forever; a missing room will not appear.
    this.channel.leave()
    this.conn.unwatchPings()
  }

  private showRoomError(text: string): void {
    this.roomError.textContent = text
    this.roomError.hidden = false
    this.historyStatus.hidden = true
    this.input.disabled = this.sendBtn.disabled = true
  }

  // ---- history ------------------------------------------------------------

  private async loadLatest(initial: boolean): Promise<void> {
    try {
      const page = await api.messages(this.roomId, null, PAGE_SIZE)
      if (this.destroyed) return
      if (initial || !this.historyLoaded) this.next = page.next
      this.historyLoaded = true
      this.historyStatus.hidden = true
      this.addMany(page.items)
      this.render({ stickToBottom: initial ? "force" : "auto" })
    } catch (err) {
      if (this.destroyed) return
      if (err instanceof ApiError && err.status === 404) this.showRoomError("This room does not exist.")
      else {
        this.historyStatus.textContent = `Could not load messages: ${describeError(err)}`
        this.historyStatus.hidden = false
      }
    }
  }

  private async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.next === null) return
    this.loadingOlder = true
    this.olderBtn.disabled = true
    try {
      const page = await api.messages(this.roomId, this.next, PAGE_SIZE)
      if (this.destroyed) return
      this.next = page.next
      this.addMany(page.items)
      this.render({ stickToBottom: "keep-position" })
    } catch (err) {
      this.historyStatus.textContent = `Could not load older messages: ${describeError(err)}`
      this.historyStatus.hidden = false
    } finally {
      this.loadingOlder = false
      this.olderBtn.disabled = false
    }
  }

  private addMany(items: Message[]): void {
    for (const m of items ?? []) this.addConfirmed(m)
  }

  // ---- messages -----------------------------------------------------------

  /** Adds a server message unless one with its id is shown already. Returns whether it was new. */
  private addConfirmed(m: Message): boolean {
    if (!m || m.id === undefined || m.id === null) return false
    const key = `id:${m.id}`
    if (this.messages.has(key)) return false
    this.messages.set(key, {
      key,
      id: m.id,
      user: userName(m.user),
      body: String(m.body ?? ""),
      insertedAt: toMs(m.inserted_at),
      seq: ++seqCounter,
      pending: false,
      failed: null,
    })
    return true
  }

  private onNewMessage(m: Message): void {
    const user = userName(m?.user)
    if (user === this.me.name) {
      // Our own broadcast may beat the push reply: it replaces the oldest
      // pending copy with the same body.
      const pending = [...this.messages.values()]
        .filter((x) => x.pending && x.body === m.body)
        .sort((a, b) => a.seq - b.seq)[0]
      if (pending) this.messages.delete(pending.key)
    }
    this.clearTyping(user)
    if (this.addConfirmed(m) || user === this.me.name) this.render({ stickToBottom: user === this.me.name ? "force" : "auto" })
  }

  private send(): void {
    const body = this.input.value.trim()
    if (!body || this.input.disabled) return
    this.input.value = ""
    this.stopTyping()
    const key = `tmp:${++seqCounter}`
    this.messages.set(key, {
      key,
      id: null,
      user: this.me.name,
      body,
      insertedAt: null,
      seq: seqCounter,
      pending: true,
      failed: null,
    })
    this.render({ stickToBottom: "force" })
    this.channel
      .push("new_msg", { body })
      .receive("ok", (resp: { message?: Message }) => {
        const had = this.messages.delete(key)
        if (resp?.message) this.addConfirmed(resp.message)
        if (had || resp?.message) this.render({ stickToBottom: "auto" })
      })
      .receive("error", (resp: { reason?: unknown }) => this.markFailed(key, String(resp?.reason ?? "rejected")))
      .receive("timeout", () => this.markFailed(key, "timed out"))
  }

  private markFailed(key: string, reason: string): void {
    const m = this.messages.get(key)
    if (!m) return
    m.pending = false
    m.failed = reason
    this.render({ stickToBottom: "auto" })
  }

  private render(opts: { stickToBottom: "force" | "auto" | "keep-position" }): void {
    const s = this.scroller
    const nearBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80
    const fromBottom = s.scrollHeight - s.scrollTop
    const sorted = [...this.messages.values()].sort(compareMessages)
    replace(
      this.list,
      sorted.map((m) => {
        const cls = ["message"]
        if (m.user === this.me.name) cls.push("own")
        if (m.pending) cls.push("pending")
        if (m.failed !== null) cls.push("failed")
        return h(
          "li",
          {
            class: cls.join(" "),
            testid: "message",
            "data-id": m.id === null ? null : String(m.id),
            "data-user": m.user,
            title: m.failed !== null ? `not sent: ${m.failed}` : m.pending ? "sending…" : null,
          },
          h("span", { class: "user", testid: "message-user" }, m.user),
          h("span", { class: "body", testid: "message-body" }, m.body),
          h(
            "time",
            { class: "time", datetime: m.insertedAt === null ? null : new Date(m.insertedAt).toISOString() },
            m.failed !== null ? "not sent" : m.pending ? "sending…" : formatTime(m.insertedAt),
          ),
        )
      }),
    )
    this.olderBtn.hidden = this.next === null
    if (this.historyLoaded && sorted.length === 0) {
      this.historyStatus.textContent = "No messages yet. Say hello!"
      this.historyStatus.hidden = false
    } else if (this.historyLoaded) {
      this.historyStatus.hidden = true
    }
    if (opts.stickToBottom === "force" || (opts.stickToBottom === "auto" && nearBottom)) {
      s.scrollTop = s.scrollHeight
    } else if (opts.stickToBottom === "keep-position") {
      s.scrollTop = s.scrollHeight - fromBottom
    }
  }

  // ---- presence -----------------------------------------------------------

  private renderPresence(): void {
    const users = this.presence.list((name: string, p: PresenceEntry) => ({ name, tabs: p.metas.length }))
    users.sort((a, b) => a.name.localeCompare(b.name))
    replace(
      this.presenceList,
      users.map((u) =>
        h(
          "li",
          {
            testid: "presence-user",
            "data-user": u.name,
            class: u.name === this.me.name ? "me" : null,
            title: u.tabs > 1 ? `${u.tabs} tabs` : null,
          },
          u.name,
        ),
      ),
    )
  }

  // ---- typing -------------------------------------------------------------

  private onInput(): void {
    if (this.input.value.trim() === "") {
      this.stopTyping()
      return
    }
    const now = Date.now()
    if (this.channel.canPush() && now - this.typingSentAt > TYPING_REPEAT_MS) {
      this.channel.push("typing", { typing: true })
      this.typingSentAt = now
    }
    if (this.typingStopTimer !== null) window.clearTimeout(this.typingStopTimer)
    this.typingStopTimer = window.setTimeout(() => this.stopTyping(), TYPING_IDLE_MS)
  }

  private stopTyping(): void {
    if (this.typingStopTimer !== null) {
      window.clearTimeout(this.typingStopTimer)
      this.typingStopTimer = null
    }
    if (this.typingSentAt !== 0) {
      this.typingSentAt = 0
      if (this.channel.canPush()) this.channel.push("typing", { typing: false })
    }
  }

  private onTyping(p: { user?: unknown; typing?: unknown }): void {
    const user = userName(p?.user)
    if (user === this.me.name) return
    if (p?.typing === true) {
      const old = this.typingUsers.get(user)
      if (old !== undefined) window.clearTimeout(old)
      this.typingUsers.set(
        user,
        window.setTimeout(() => this.clearTyping(user), TYPING_FORGET_MS),
      )
      this.renderTyping()
    } else {
      this.clearTyping(user)
    }
  }

  private clearTyping(user: string): void {
    const t = this.typingUsers.get(user)
    if (t === undefined) return
    window.clearTimeout(t)
    this.typingUsers.delete(user)
    this.renderTyping()
  }

  private renderTyping(): void {
    const names = [...this.typingUsers.keys()].sort()
    let text = ""
    if (names.length === 1) text = `${names[0]} is typing…`
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`
    else if (names.length > 2) text = `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`
    this.typingEl.textContent = text
  }
}
