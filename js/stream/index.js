// @suzaku/stream: recovery of suzaku stream topics with the official phoenix
// client, in one line. Optional: the same takes ten lines of plain phoenix.js
// (docs/streams.md).
//
//   import { streamChannel } from "@suzaku/stream"
//   const channel = streamChannel(socket, "room:1", { onReset: () => refetch() })
//   channel.on("new_msg", (msg) => show(msg))
//   channel.join()
//
// The channel's join params become a function that adds the last position
// seen ({epoch, offset}) to yours, so that phoenix.js rejoins from it. The
// position follows every stream message (its ref) and every join reply
// that did not recover; onReset(reply) is called after a rejoin the server
// could not recover ({recovered: false}): the app must refetch what it shows.

const OFFSET = /^[1-9][0-9]{0,19}$/

/**
 * streamChannel returns socket.channel(topic, …) set up to recover.
 * @param {import("phoenix").Socket} socket
 * @param {string} topic
 * @param {{params?: object | (() => object), onReset?: (reply: object) => void}} [opts]
 */
export function streamChannel(socket, topic, opts = {}) {
  const { params = {}, onReset } = opts
  let pos = null // {epoch, offset} of the last message seen
  let joined = false
  const channel = socket.channel(topic, () => {
    const base = typeof params === "function" ? params() : params
    return pos ? { ...base, epoch: pos.epoch, offset: pos.offset } : { ...base }
  })
  const onMessage = channel.onMessage.bind(channel)
  channel.onMessage = (event, payload, ref, joinRef) => {
    if (event === "phx_reply") {
      if (ref && ref === channel.joinRef() && payload && payload.status === "ok") {
        const r = payload.response || {}
        if (typeof r.epoch === "string" && typeof r.offset === "number" && r.recovered !== true) {
          pos = { epoch: r.epoch, offset: r.offset }
          if (joined && onReset) onReset(r)
        }
        if (typeof r.epoch === "string") joined = true
      }
    } else if (pos && typeof ref === "string" && !event.startsWith("phx_") && !event.startsWith("chan_reply_") && OFFSET.test(ref)) {
      pos.offset = Number(ref)
    }
    return onMessage(event, payload, ref, joinRef)
  }
  channel.streamPosition = () => (pos ? { ...pos } : null)
  return channel
}
