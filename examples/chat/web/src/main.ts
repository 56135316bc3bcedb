// suzaku chat, the SPA of examples/chat. Vanilla TypeScript; the realtime
// part is the official `phoenix` client, unmodified.
//
//   /            log in, or the room list
//   /rooms/:id   a room

import "./style.css"
import { api, setToken, setUnauthorizedHandler, type AuthResponse } from "./api"
import { Connection, type ConnectionView } from "./connection"
import { h, replace } from "./dom"
import { navigate, startRouter, type Route } from "./router"
import { clearSession, loadSession, saveSession, type Session } from "./session"
import { loginView } from "./views/login"
import { RoomView } from "./views/room"
import { RoomsPanel } from "./views/rooms"

const root = document.getElementById("app")!

interface SignedIn {
  session: Session
  conn: Connection
  rooms: RoomsPanel
  room: RoomView | null
  main: HTMLElement
  unsubscribe: () => void
}

let current: SignedIn | null = null
let route: Route = { name: "home" }
let lastAuthCheck = 0

function signIn(session: Session): SignedIn {
  setToken(session.token)
  const conn = new Connection(session.token, () => {
    // The socket failed before it ever opened: if the token is the reason,
    // the API answers 401 and the unauthorized handler signs us out.
    const now = Date.now()
    if (now - lastAuthCheck < 10_000) return
    lastAuthCheck = now
    api.rooms().catch(() => {})
  })
  const rooms = new RoomsPanel(conn)

  const status = h("span", { class: "conn-status", testid: "connection-status", role: "status" })
  const banner = h("div", { class: "banner", testid: "reconnect-banner", role: "alert", hidden: true })
  const unsubscribe = conn.subscribe((v) => renderStatus(status, banner, v))

  const logout = h("button", { type: "button", class: "link", testid: "logout" }, "Log out")
  logout.addEventListener("click", () => {
    // Best effort: the server closes this user's other tabs' sockets too.
    api.logout().catch(() => {}).finally(() => signOut())
  })

  const main = h("main", { class: "content" })
  const shell = h(
    "div",
    { class: "shell" },
    h(
      "header",
      { class: "topbar" },
      h("a", { href: "/", "data-link": true, class: "brand" }, "suzaku chat"),
      h("span", { class: "spacer" }),
      status,
      h("span", { class: "me", testid: "current-user" }, session.user.name),
      logout,
    ),
    banner,
    h("div", { class: "body" }, rooms.el, main),
  )
  replace(root, shell)
  return { session, conn, rooms, room: null, main, unsubscribe }
}

function renderStatus(el: HTMLElement, banner: HTMLElement, v: ConnectionView): void {
  el.dataset["status"] = v.status
  el.dataset["health"] = v.health
  el.dataset["transport"] = v.transport
  const via = v.transport === "longpoll" ? "LongPoll" : "WebSocket"
  const ping = v.pingAgeMs === null ? "no server ping yet" : `last server ping ${Math.round(v.pingAgeMs / 1000)} s ago`
  el.title = `${ping} · ${via}`
  if (el.lastChild?.textContent !== v.status) replace(el, h("i", { class: "dot", "aria-hidden": "true" }), v.status)
  banner.hidden = !v.banner
  banner.textContent = v.status === "offline" ? "You are offline. Messages will be sent when the connection is back." : "Connection lost. Reconnecting…"
}

function signOut(message?: string): void {
  if (current) {
    current.room?.destroy()
    current.rooms.destroy()
    current.unsubscribe()
    current.conn.close()
    current = null
  }
  clearSession()
  setToken(null)
  document.title = "suzaku chat"
  showLogin(message)
}

function showLogin(message?: string): void {
  const view = loginView((auth: AuthResponse) => {
    const session = { token: auth.token, user: auth.user }
    saveSession(session)
    current = signIn(session)
    render()
  })
  replace(root, view)
  if (message) {
    const err = view.querySelector<HTMLElement>('[data-testid="login-error"]')
    if (err) {
      err.textContent = message
      err.hidden = false
    }
  }
  view.querySelector<HTMLInputElement>('[data-testid="login-name"]')?.focus()
}

function render(): void {
  if (!current) {
    showLogin()
    return
  }
  const app = current
  if (route.name === "room") {
    if (app.room?.roomId === route.id) return
    app.room?.destroy()
    app.room = new RoomView(app.conn, app.session.user, route.id, app.rooms.nameOf(route.id))
    app.rooms.setActive(route.id)
    replace(app.main, app.room.el)
    document.title = `${app.rooms.nameOf(route.id) ?? "Room"} · suzaku chat`
    app.room.focus()
  } else {
    app.room?.destroy()
    app.room = null
    app.rooms.setActive(null)
    document.title = "suzaku chat"
    replace(
      app.main,
      h(
        "section",
        { class: "home", testid: "home" },
        h("h2", {}, `Hello, ${app.session.user.name}`),
        h("p", { class: "muted" }, "Pick a room on the left, or create one."),
      ),
    )
  }
}

setUnauthorizedHandler(() => {
  if (current) signOut("Your session has expired. Please log in again.")
})

const saved = loadSession()
if (saved) current = signIn(saved)
startRouter((r) => {
  route = r
  render()
})

// For the end-to-end test and for debugging from the console.
declare global {
  interface Window {
    __chat?: { navigate: typeof navigate; connection: () => Connection | null }
  }
}
window.__chat = { navigate, connection: () => current?.conn ?? null }
