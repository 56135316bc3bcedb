// The room list (sidebar) and the create-room form. The list comes from
// GET /api/rooms and stays live through the "rooms" channel: `room_created`
// adds a room, `invalidate {tags:["rooms"]}` refetches, and every (re)join
// refetches too, so nothing created while we were disconnected is missed.

import type { Channel } from "phoenix"
import { api, ApiError, describeError, type Room } from "../api"
import type { Connection } from "../connection"
import { h, replace } from "../dom"
import { navigate, roomPath } from "../router"

export class RoomsPanel {
  readonly el: HTMLElement
  private rooms = new Map<string, Room>()
  private activeId: string | null = null
  private list: HTMLUListElement
  private empty: HTMLElement
  private error: HTMLElement
  private channel: Channel
  private fetchSeq = 0
  private loaded = false
  /** Rooms announced live since the newest refresh started: its snapshot may predate them. */
  private liveSinceFetch = new Map<string, Room>()

  constructor(conn: Connection) {
    this.list = h("ul", { class: "room-list", testid: "room-list" })
    this.empty = h("p", { class: "muted", testid: "room-list-empty", hidden: true }, "No rooms yet. Create one.")
    this.error = h("p", { class: "form-error", testid: "room-create-error", role: "alert", hidden: true })

    const nameInput = h("input", {
      testid: "room-create-name",
      name: "room",
      placeholder: "new room name",
      autocomplete: "off",
      maxlength: 64,
      "aria-label": "New room name",
    })
    const submit = h("button", { type: "submit", testid: "room-create-submit" }, "Create")
    const form = h("form", { class: "room-create", testid: "room-create-form" }, nameInput, submit)
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault()
      const name = nameInput.value.trim()
      if (!name) return
      submit.disabled = true
      this.error.hidden = true
      try {
        const room = await api.createRoom(name)
        this.upsert(room)
        nameInput.value = ""
        navigate(roomPath(room.id))
      } catch (err) {
        this.error.textContent =
          err instanceof ApiError && err.code === "room_exists" ? `A room named "${name}" already exists.` : describeError(err)
        this.error.hidden = false
      } finally {
        submit.disabled = false
      }
    })

    this.el = h(
      "nav",
      { class: "rooms", "aria-label": "Rooms" },
      h("h2", {}, "Rooms"),
      this.list,
      this.empty,
      form,
      this.error,
    )

    this.channel = conn.socket.channel("rooms", {})
    this.channel.on("room_created", (room: Room) => this.upsert(room))
    this.channel.on("invalidate", (p: { tags?: unknown }) => {
      if (Array.isArray(p.tags) && p.tags.includes("rooms")) void this.refresh()
    })
    this.channel
      .join()
      .receive("ok", () => void this.refresh())
      .receive("error", (resp: unknown) => console.warn("rooms: join failed", resp))
    void this.refresh()
  }

  setActive(id: string | null): void {
    this.activeId = id
    this.render()
  }

  /** The name of a room we know of, for the room header before its join answers. */
  nameOf(id: string): string | undefined {
    return this.rooms.get(id)?.name
  }

  destroy(): void {
    this.channel.leave()
  }

  async refresh(): Promise<void> {
    const seq = ++this.fetchSeq
    this.liveSinceFetch.clear()
    try {
      const { items } = await api.rooms()
      if (seq !== this.fetchSeq) return // a newer refresh started meanwhile
      this.rooms = new Map(items.map((r) => [String(r.id), r]))
      for (const [id, r] of this.liveSinceFetch) if (!this.rooms.has(id)) this.rooms.set(id, r)
      this.loaded = true
      this.render()
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) console.warn("rooms: refresh failed", err)
    }
  }

  private upsert(room: Room): void {
    if (!room || room.id === undefined || typeof room.name !== "string") return
    this.rooms.set(String(room.id), room)
    this.liveSinceFetch.set(String(room.id), room)
    this.render()
  }

  private render(): void {
    const rooms = [...this.rooms.values()].sort((a, b) =>
      a.name.localeCompare(b.name, undefined, { sensitivity: "base", numeric: true }),
    )
    replace(
      this.list,
      rooms.map((r) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: roomPath(r.id),
              "data-link": true,
              testid: "room-link",
              "data-room-id": String(r.id),
              "aria-current": String(r.id) === this.activeId ? "page" : null,
            },
            r.name,
          ),
        ),
      ),
    )
    this.empty.hidden = !this.loaded || rooms.length > 0
  }
}
