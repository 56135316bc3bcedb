// Package health serves the liveness and readiness probes of a node:
// GET /healthz answers 200 while the process runs, GET /readyz 200 while
// the node accepts clients and 503 while it drains after SIGTERM or while
// a dependency (the broker) fails its check.
//
//	probe := health.New(health.Config{})
//	probe.Check("server", srv)       // *suzaku.Server: unready while it drains
//	probe.Check("broker", broker)    // anything with Healthy(ctx) error
//	probe.Mount(mux)                 // GET /healthz and GET /readyz
//
// A [Checker] is anything with a Healthy(ctx) error method. The probe runs
// the checks on each /readyz request, one after another, each bounded by
// Config.Timeout; the answer names the failing checks but not their
// errors, which go to the logger.
package health
