// Client-side routes with history.pushState. The Go server answers every
// non-API path with index.html, so a reload of /rooms/7 lands here again.

export type Route = { name: "home" } | { name: "room"; id: string }

export function parseRoute(pathname: string): Route | null {
  if (pathname === "/" || pathname === "") return { name: "home" }
  const m = /^\/rooms\/([^/]+)\/?$/.exec(pathname)
  if (m && m[1]) return { name: "room", id: decodeURIComponent(m[1]) }
  return null
}

export function roomPath(id: string | number): string {
  return `/rooms/${encodeURIComponent(String(id))}`
}

let listener: (route: Route) => void = () => {}

/** Starts routing: calls fn now and on every navigation. Unknown paths go to "/". */
export function startRouter(fn: (route: Route) => void): void {
  listener = fn
  window.addEventListener("popstate", () => dispatch())
  // Links marked data-link navigate without a page load (plain clicks only;
  // ctrl/middle-click still open a new tab).
  document.addEventListener("click", (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return
    const a = (ev.target as Element | null)?.closest?.("a[data-link]")
    if (!(a instanceof HTMLAnchorElement) || a.origin !== location.origin) return
    ev.preventDefault()
    navigate(a.pathname)
  })
  dispatch()
}

export function navigate(path: string, replace = false): void {
  if (path !== location.pathname) {
    if (replace) history.replaceState(null, "", path)
    else history.pushState(null, "", path)
  }
  dispatch()
}

function dispatch(): void {
  const route = parseRoute(location.pathname)
  if (!route) {
    history.replaceState(null, "", "/")
    listener({ name: "home" })
    return
  }
  listener(route)
}
