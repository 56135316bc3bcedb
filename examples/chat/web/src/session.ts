// The signed-in user. The API token lives in sessionStorage, not localStorage:
// sessionStorage is per browser tab, so two tabs of one browser can be signed in
// as two different users (handy for trying the chat by hand), and the token is
// gone when the tab closes. A reload keeps it.

export interface User {
  id: string | number
  name: string
}

export interface Session {
  token: string
  user: User
}

const KEY = "suzaku-chat:session"

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as Partial<Session>
    if (typeof s.token !== "string" || !s.user || typeof s.user.name !== "string") return null
    return { token: s.token, user: s.user }
  } catch {
    return null
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s))
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY)
}
