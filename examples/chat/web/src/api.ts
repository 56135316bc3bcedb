// The HTTP API of examples/chat (the contract the Go server implements).
// Errors are RFC 9457 problem+json: {type, title, status, detail, code, errors?}.

import type { User } from "./session"

export interface AuthResponse {
  token: string
  user: User
}

export interface Room {
  id: string | number
  name: string
  created_at: string | number
}

export interface Message {
  id: string | number
  room_id: string | number
  user: string
  body: string
  inserted_at: string | number
}

export interface Page<T> {
  items: T[]
  next: string | null
}

export interface FieldError {
  field: string
  message: string
}

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  errors?: FieldError[]
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem

  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.name = "ApiError"
    this.status = status
    this.problem = problem
  }

  get code(): string | undefined {
    return this.problem.code
  }
}

/** Called when an authenticated call answers 401: the token is no longer good. */
let onUnauthorized: () => void = () => {}
let token: string | null = null

export function setToken(t: string | null): void {
  token = t
}

export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn
}

async function request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" }
  if (body !== undefined) headers["Content-Type"] = "application/json"
  if (auth && token) headers["Authorization"] = `Bearer ${token}`
  const init: RequestInit = {
    method,
    headers,
    // GETs revalidate with If-None-Match against the browser cache: the
    // server's ETag turns an unchanged list into a 304 that fetch() hands
    // back to us as the cached 200.
    cache: "no-cache",
  }
  if (body !== undefined) init.body = JSON.stringify(body)
  let res: Response
  try {
    res = await fetch(path, init)
  } catch (err) {
    throw new ApiError(0, { title: "Network error", detail: "The server cannot be reached." })
  }
  const text = await res.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = undefined
    }
  }
  if (!res.ok) {
    const problem: Problem =
      data && typeof data === "object" ? (data as Problem) : { title: res.statusText, detail: text.slice(0, 200) }
    if (res.status === 401 && auth) onUnauthorized()
    throw new ApiError(res.status, problem)
  }
  return data as T
}

export const api = {
  signup: (name: string, password: string) =>
    request<AuthResponse>("POST", "/api/signup", { name, password }, false),
  login: (name: string, password: string) =>
    request<AuthResponse>("POST", "/api/login", { name, password }, false),
  rooms: () => request<{ items: Room[] }>("GET", "/api/rooms"),
  createRoom: (name: string) => request<Room>("POST", "/api/rooms", { name }),
  /** Closes every socket of this user (all tabs) on the server. */
  logout: () => request<void>("POST", "/api/logout"),
  messages: (roomId: string, cursor: string | null, limit = 50) => {
    const q = new URLSearchParams({ limit: String(limit) })
    if (cursor !== null) q.set("cursor", cursor)
    return request<Page<Message>>("GET", `/api/rooms/${encodeURIComponent(roomId)}/messages?${q}`)
  },
}

/** A human-readable message for an error from the API. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const p = err.problem
    if (p.errors && p.errors.length > 0) return p.errors.map((e) => `${e.field}: ${e.message}`).join("; ")
    return p.detail || p.title || `HTTP ${err.status}`
  }
  return err instanceof Error ? err.message : String(err)
}
