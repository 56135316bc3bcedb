// The SPA: sign up or log in, then chat in room:lobby and see who is online.
// The token lives in sessionStorage, so two tabs can be two users.
import { Socket, Presence, type Channel } from "phoenix"

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
let socket: Socket | null = null
let room: Channel | null = null

async function account(path: "signup" | "login") {
  const name = $<HTMLInputElement>("name").value
  const password = $<HTMLInputElement>("password").value
  const resp = await fetch(`/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password }),
  })
  const body = await resp.json()
  if (!resp.ok) {
    const fields = (body.errors ?? []).map((e: { field: string; message: string }) => `${e.field}: ${e.message}`)
    $("login-error").textContent = fields.length ? fields.join("; ") : body.detail ?? body.title
    return
  }
  sessionStorage.setItem("token", body.token)
  sessionStorage.setItem("name", body.user.name)
  enter()
}

function enter() {
  const token = sessionStorage.getItem("token")
  if (!token) return
  $("login").hidden = true
  $("room").hidden = false
  $("me").textContent = sessionStorage.getItem("name") ?? ""
  socket = new Socket("/socket", { authToken: token })
  socket.connect()
  room = socket.channel("room:lobby")
  const presence = new Presence(room)
  presence.onSync(() => {
    $("online").textContent = presence.list((name) => name).sort().join(", ")
  })
  room.on("shout", (msg: { user: string; body: string }) => {
    const li = document.createElement("li")
    li.textContent = `${msg.user}: ${msg.body}`
    $("messages").append(li)
  })
  room.join().receive("error", (e: { reason: string }) => ($("room-error").textContent = e.reason))
}

async function logout() {
  const token = sessionStorage.getItem("token")
  sessionStorage.clear()
  socket?.disconnect()
  await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } })
  location.reload()
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault()
  void account("signup")
})
$("signin").addEventListener("click", () => void account("login"))
$("logout").addEventListener("click", () => void logout())
$("shout-form").addEventListener("submit", (e) => {
  e.preventDefault()
  const input = $<HTMLInputElement>("body")
  room
    ?.push("shout", { body: input.value })
    .receive("ok", () => {
      input.value = ""
      $("room-error").textContent = ""
    })
    .receive("error", (e: { reason: string }) => ($("room-error").textContent = e.reason))
})
enter()
