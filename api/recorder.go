package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// recorder wraps a ResponseWriter to observe the status, the body size
// and a hijack, for [Recover] and [AccessLog]. It keeps the wrapped
// writer's optional features reachable: Unwrap for http.ResponseController
// (deadlines, full duplex; golang/go#54136), Flush and FlushError, Hijack
// (also for code that type-asserts http.Hijacker) and ReadFrom (sendfile
// for static files).
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

// wrap returns w itself if it is already a recorder, so that stacked
// middleware share one wrapper and one allocation.
func wrap(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

var (
	_ http.Flusher  = (*recorder)(nil)
	_ http.Hijacker = (*recorder)(nil)
	_ io.ReaderFrom = (*recorder)(nil)
)

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) WriteHeader(code int) {
	// 1xx responses other than 101 are informational (103 Early Hints):
	// the final status is still to come.
	if !w.wroteHeader && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom lets io.Copy (and so http.ServeContent) use the wrapped
// writer's ReadFrom, which sends files with sendfile.
func (w *recorder) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so that io.Copy does not call
// back into ReadFrom.
type writerOnly struct{ io.Writer }

func (w *recorder) Flush() { w.FlushError() }

// FlushError is the method http.ResponseController.Flush looks for first.
func (w *recorder) FlushError() error {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hijacks the wrapped writer's connection, through any wrappers it
// has, and remembers that it did.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}
