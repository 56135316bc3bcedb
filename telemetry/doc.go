// Package telemetry is the hook through which suzaku reports what it does:
// connections, joins, frames, handler durations, broadcasts and their
// fan-out, slow clients, limits, broker, presence, cache and API events.
//
// A part of the framework takes a [Hook] in its Config. Nil, the default,
// costs one pointer comparison per event site and nothing else: no
// allocation, no clock read. An installed Hook receives an [Event] by
// value, synchronously, on the goroutine that caused it, often on a hot
// path (a frame read, a broadcast delivery): it must be fast, must not
// block and must not retain pointers into the event beyond the call
// (strings are safe to keep).
//
// Labels stay bounded: events name a topic by its router pattern
// ("room:*"), an HTTP request by its route pattern ("GET /api/rooms/{id}"),
// never by the topic or path itself, so that a sink such as package
// metrics can use them as label values.
//
// # Sinks
//
// Package metrics turns events into Prometheus metrics. [Multi] combines
// hooks; [HookFunc] adapts a function.
package telemetry
