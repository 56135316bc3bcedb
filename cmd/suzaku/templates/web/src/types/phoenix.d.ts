// Types for the parts of the official `phoenix` npm client (1.8.16) this app
// uses. The package ships no declarations and @types/phoenix describes 1.6
// (no `authToken`, no `longPollFallbackMs`), so they are written here from
// node_modules/phoenix/assets/js/phoenix/*.js.

declare module "phoenix" {
  export type Payload = Record<string, unknown>

  export interface SocketOptions {
    transport?: unknown
    longPollFallbackMs?: number
    debug?: boolean
    timeout?: number
    heartbeatIntervalMs?: number
    reconnectAfterMs?: (tries: number) => number
    rejoinAfterMs?: (tries: number) => number
    logger?: (kind: string, msg: string, data: unknown) => void
    longpollerTimeout?: number
    params?: Payload | (() => Payload)
    /** Sent as the `base64url.bearer.phx.<b64>` WebSocket subprotocol; LongPoll sends it as X-Phoenix-AuthToken. */
    authToken?: string | (() => string)
    binaryType?: BinaryType
    vsn?: string
    sessionStorage?: Pick<Storage, "getItem" | "setItem" | "removeItem">
  }

  export type ConnectionState = "connecting" | "open" | "closing" | "closed"

  export class Socket {
    constructor(endPoint: string, opts?: SocketOptions)
    connect(): void
    disconnect(callback?: () => void, code?: number, reason?: string): void
    channel(topic: string, params?: Payload | (() => Payload)): Channel
    onOpen(callback: () => void): string
    onClose(callback: (event: CloseEvent | unknown) => void): string
    onError(callback: (error: unknown, transport: unknown, establishedConnections: number) => void): string
    onMessage(callback: (message: unknown) => void): string
    off(refs: string[]): void
    isConnected(): boolean
    connectionState(): ConnectionState
    ping(callback: (rttMs: number) => void): boolean
    endPointURL(): string
    /** The transport class in use (WebSocket or LongPoll); replaced by the LongPoll fallback. */
    transport: unknown
    getLongPollTransport(): unknown
    /** Disconnects and sets the transport class for the next connect(). */
    replaceTransport(transport: unknown): number
  }

  export type PushStatus = "ok" | "error" | "timeout"

  export class Push {
    receive(status: "ok" | "error", callback: (response: any) => void): Push
    receive(status: "timeout", callback: () => void): Push
    receive(status: string, callback: (response: any) => void): Push
  }

  export class Channel {
    topic: string
    state: "closed" | "errored" | "joined" | "joining" | "leaving"
    join(timeout?: number): Push
    leave(timeout?: number): Push
    push(event: string, payload: Payload, timeout?: number): Push
    on(event: string, callback: (payload: any, ref?: string, joinRef?: string) => void): number
    off(event: string, ref?: number): void
    onClose(callback: (payload: unknown) => void): void
    onError(callback: (reason: unknown) => void): number
    joinRef(): string | null
    canPush(): boolean
    isJoined(): boolean
    isJoining(): boolean
    isErrored(): boolean
    isClosed(): boolean
    isLeaving(): boolean
  }

  export interface PresenceMeta {
    phx_ref: string
    phx_ref_prev?: string
    [key: string]: unknown
  }

  export interface PresenceEntry {
    metas: PresenceMeta[]
    [key: string]: unknown
  }

  export type PresenceState = Record<string, PresenceEntry>

  export class Presence {
    constructor(channel: Channel, opts?: { events?: { state: string; diff: string } })
    onJoin(callback: (key: string, current: PresenceEntry | undefined, joined: PresenceEntry) => void): void
    onLeave(callback: (key: string, current: PresenceEntry, left: PresenceEntry) => void): void
    onSync(callback: () => void): void
    list(): PresenceEntry[]
    list<T>(chooser: (key: string, presence: PresenceEntry) => T): T[]
    inPendingSyncState(): boolean
    static syncState(current: PresenceState, next: PresenceState): PresenceState
    static syncDiff(current: PresenceState, diff: { joins: PresenceState; leaves: PresenceState }): PresenceState
    static list<T>(presences: PresenceState, chooser?: (key: string, presence: PresenceEntry) => T): T[]
  }

  export class LongPoll {
    constructor(endPoint: string, protocols?: string[])
  }
}
