//go:build !linux

package rawbaseline

import (
	"context"
	"errors"
	"net/http"
)

// Server is the baseline server; it needs Linux's epoll.
type Server struct{}

// Config configures [NewWith]; see the Linux build for its fields.
type Config struct {
	// Writers is the number of goroutines that write one broadcast.
	// Default: GOMAXPROCS; 1 is the serial baseline.
	Writers int
}

// New returns an error: the baseline needs Linux's epoll.
func New() (*Server, error) { return NewWith(Config{}) }

// NewWith returns an error: the baseline needs Linux's epoll.
func NewWith(Config) (*Server, error) { return nil, errors.New("rawbaseline: Linux only (epoll)") }

// ServeHTTP answers 501.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "rawbaseline: Linux only", http.StatusNotImplemented)
}

// Serve returns at once.
func (s *Server) Serve(ctx context.Context) error {
	return errors.New("rawbaseline: Linux only (epoll)")
}

// Conns returns 0.
func (s *Server) Conns() int { return 0 }
