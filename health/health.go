package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultTimeout bounds one check of a /readyz request.
const DefaultTimeout = 2 * time.Second

// Checker reports whether something the node needs works: nil when it
// does. It must return within a short time, and promptly once ctx is done.
type Checker interface {
	Healthy(ctx context.Context) error
}

// CheckerFunc adapts a function to [Checker].
type CheckerFunc func(ctx context.Context) error

// Healthy calls f(ctx).
func (f CheckerFunc) Healthy(ctx context.Context) error { return f(ctx) }

// ErrDraining is what a drained [Probe] reports.
var ErrDraining = errors.New("health: draining")

// Config configures [New]. The zero value is valid.
type Config struct {
	// Timeout bounds each check of a /readyz request. Zero means
	// DefaultTimeout (2 s).
	Timeout time.Duration
	// Logger receives the errors of failing checks at Warn, once per
	// change of state. Nil discards.
	Logger *slog.Logger
}

// Probe answers the liveness and readiness probes. It is safe for
// concurrent use; checks may be added while it serves.
type Probe struct {
	timeout time.Duration
	log     *slog.Logger

	mu       sync.Mutex
	checks   []check
	draining bool
	failing  map[string]bool // the checks failing at the last /readyz, for logging changes
}

type check struct {
	name string
	c    Checker
}

// New returns a probe with no checks: ready until [Probe.Drain] or a check
// added later fails.
func New(cfg Config) *Probe {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Probe{timeout: cfg.Timeout, log: log, failing: map[string]bool{}}
}

// Check adds a readiness check under name (a short label: "broker",
// "db"). A nil c is ignored, so that an optional dependency can be passed
// as is.
func (p *Probe) Check(name string, c Checker) {
	if c == nil {
		return
	}
	p.mu.Lock()
	p.checks = append(p.checks, check{name, c})
	p.mu.Unlock()
}

// Drain makes /readyz answer 503 from now on. Call it when the node starts
// to drain, if no check reports it already (a *suzaku.Server does).
func (p *Probe) Drain() {
	p.mu.Lock()
	p.draining = true
	p.mu.Unlock()
}

// Ready runs the checks and returns nil when every one passes, or an error
// joining the failing ones (each wrapped with its name).
func (p *Probe) Ready(ctx context.Context) error {
	p.mu.Lock()
	checks, draining := p.checks, p.draining
	p.mu.Unlock()
	if draining {
		return ErrDraining
	}
	var errs []error
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		err := c.c.Healthy(cctx)
		cancel()
		if err != nil {
			errs = append(errs, &CheckError{Name: c.name, Err: err})
		}
	}
	p.logChanges(checks, errs)
	return errors.Join(errs...)
}

// CheckError is a failed check.
type CheckError struct {
	Name string
	Err  error
}

func (e *CheckError) Error() string { return "health: " + e.Name + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

func (p *Probe) logChanges(checks []check, errs []error) {
	now := map[string]error{}
	for _, err := range errs {
		var ce *CheckError
		if errors.As(err, &ce) {
			now[ce.Name] = ce.Err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range checks {
		err, failing := now[c.name]
		switch {
		case failing && !p.failing[c.name]:
			p.log.Warn("readiness check failing", "check", c.name, "err", err)
		case !failing && p.failing[c.name]:
			p.log.Info("readiness check passing again", "check", c.name)
		}
		p.failing[c.name] = failing
	}
}

// Mount routes GET /healthz and GET /readyz on mux.
func (p *Probe) Mount(mux *http.ServeMux) {
	mux.Handle("GET /healthz", Live())
	mux.Handle("GET /readyz", p)
}

// ServeHTTP answers /readyz: 200 {"status":"ready"}, or 503
// {"status":"unready","failing":["broker"]} ("draining" while drained).
func (p *Probe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := p.Ready(r.Context())
	if err == nil {
		write(w, http.StatusOK, `{"status":"ready"}`)
		return
	}
	if errors.Is(err, ErrDraining) {
		write(w, http.StatusServiceUnavailable, `{"status":"draining"}`)
		return
	}
	failing := []string{}
	for _, e := range unwrap(err) {
		var ce *CheckError
		if errors.As(e, &ce) {
			failing = append(failing, ce.Name)
		}
	}
	b, _ := json.Marshal(map[string]any{"status": "unready", "failing": failing})
	write(w, http.StatusServiceUnavailable, string(b))
}

func unwrap(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Live returns the /healthz handler: 200 {"status":"alive"} as long as the
// process can answer.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, `{"status":"alive"}`)
	})
}

func write(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, body+"\n")
}
