// A tiny element builder. User data only ever goes into text nodes and
// attributes, never into innerHTML, so names and message bodies cannot inject markup.

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>
export type Child = Node | string | number | null | undefined | false | Child[]

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value)
    } else if (name === "testid") {
      el.dataset["testid"] = String(value)
    } else if (value === true) {
      el.setAttribute(name, "")
    } else {
      el.setAttribute(name, String(value))
    }
  }
  append(el, children)
  return el
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replaces all children of el. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/** Returns the element with the given data-testid inside root (throws if missing: a programming error). */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`)
  if (!el) throw new Error(`no element with data-testid=${id}`)
  return el
}
