package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/api"
)

type benchIn struct {
	Name       string `json:"name"`
	Topic      string `json:"topic"`
	MaxMembers int    `json:"max_members"`
}

func (in *benchIn) Validate() error {
	if in.Name == "" {
		return api.FieldError{Field: "name", Message: "must not be empty"}
	}
	if in.MaxMembers < 0 {
		return api.FieldError{Field: "max_members", Message: "must not be negative"}
	}
	return nil
}

type benchOut struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Topic      string `json:"topic"`
	MaxMembers int    `json:"max_members"`
	Created    bool   `json:"created"`
}

const benchPayload = `{"name":"general","topic":"everything else","max_members":50}`

// bareHandler does by hand what an api.Handle handler does: decode a small
// JSON body, validate it, encode a reply. It is the baseline of
// BenchmarkHandle.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	var in benchIn
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := in.Validate(); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	out := benchOut{ID: "r1", Name: in.Name, Topic: in.Topic, MaxMembers: in.MaxMembers, Created: true}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func benchFunc(_ context.Context, _ *http.Request, in benchIn) (benchOut, error) {
	return benchOut{ID: "r1", Name: in.Name, Topic: in.Topic, MaxMembers: in.MaxMembers, Created: true}, nil
}

// BenchmarkHandle measures the overhead of the api layer against a bare
// net/http handler doing the same work, in process through
// httptest.NewRecorder. Compare bare with handle:
//
//	go test -run='^$' -bench=BenchmarkHandle -count=10 ./api
//
// handle+middleware adds RequestIDs, AccessLog (to a discarding handler)
// and Recover, for reference; they do work the bare handler does not.
func BenchmarkHandle(b *testing.B) {
	logger := slog.New(slog.DiscardHandler)
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{name: "bare", h: http.HandlerFunc(bareHandler)},
		{name: "handle", h: api.Handle(nil, benchFunc)},
		{name: "handle+middleware", h: api.Chain(api.RequestIDs, api.AccessLog(logger), api.Recover(logger))(api.Handle(nil, benchFunc))},
	}
	for _, bh := range handlers {
		b.Run(bh.name, func(b *testing.B) {
			body := &nopBody{}
			r := httptest.NewRequest("POST", "/api/rooms", nil)
			r.Header.Set("Content-Type", "application/json")
			r.ContentLength = int64(len(benchPayload))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(benchPayload)
				r.Body = body
				w := httptest.NewRecorder()
				bh.h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkHandleOverhead runs the bare handler and the api.Handle handler
// of BenchmarkHandle in short alternating blocks, so that both see the same
// machine noise, and reports the median time of each and the median of the
// per-block overhead of the api layer, in percent (robust to a noisy,
// shared machine):
//
//	go test -run='^$' -bench=BenchmarkHandleOverhead -count=5 ./api
func BenchmarkHandleOverhead(b *testing.B) {
	const block = 64
	hs := [2]http.Handler{http.HandlerFunc(bareHandler), api.Handle(nil, benchFunc)}
	body := &nopBody{}
	r := httptest.NewRequest("POST", "/api/rooms", nil)
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = int64(len(benchPayload))
	run := func(h http.Handler) time.Duration {
		start := time.Now()
		for range block {
			body.Reset(benchPayload)
			r.Body = body
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		return time.Since(start)
	}
	var bare, handle, overhead []float64
	for i := 0; b.Loop(); i++ {
		var d [2]time.Duration
		// Alternate which goes first, so that neither always follows the
		// other's garbage.
		first := i % 2
		d[first] = run(hs[first])
		d[1-first] = run(hs[1-first])
		bare = append(bare, float64(d[0])/block)
		handle = append(handle, float64(d[1])/block)
		overhead = append(overhead, 100*(float64(d[1])-float64(d[0]))/float64(d[0]))
	}
	b.ReportMetric(median(bare), "bare-ns/op")
	b.ReportMetric(median(handle), "handle-ns/op")
	b.ReportMetric(median(overhead), "overhead-%")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}
