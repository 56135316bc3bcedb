// Package cachetest is the conformance suite for [cache.Cache]
// implementations. Every implementation runs it from its tests:
//
//	func TestCache(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) cache.Cache {
//			c := newCache(t) // register cleanup with t.Cleanup
//			return c
//		})
//	}
//
// Each test uses keys and tags with a prefix unique to the process and the
// test, so the suite can run in parallel against a shared server (Redis).
// The TTL test waits for real time, with short TTLs and a polling timeout;
// nothing else sleeps.
package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// timeout bounds each wait. It is only reached when a test fails.
const timeout = 10 * time.Second

// Run runs the conformance suite. newCache is called once per subtest,
// with the subtest's t, and returns a cache ready to use. Subtests run in
// parallel.
func Run(t *testing.T, newCache func(t *testing.T) cache.Cache) {
	t.Helper()
	run := rand.Uint64()
	tests := []struct {
		name string
		fn   func(t *testing.T, c cache.Cache, p string)
	}{
		{"GetMiss", testGetMiss},
		{"SetGet", testSetGet},
		{"SetReplaces", testSetReplaces},
		{"Delete", testDelete},
		{"DeleteAbsent", testDeleteAbsent},
		{"InvalidateTags", testInvalidateTags},
		{"InvalidateTagsAnyTag", testInvalidateTagsAnyTag},
		{"SetAfterInvalidate", testSetAfterInvalidate},
		{"TTL", testTTL},
		{"GetOrLoad", testGetOrLoad},
		{"GetOrLoadError", testGetOrLoadError},
		{"GetOrLoadTags", testGetOrLoadTags},
		{"GetOrLoadSingleFlight", testGetOrLoadSingleFlight},
		{"NilLoader", testNilLoader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCache(t)
			tt.fn(t, c, fmt.Sprintf("cachetest:%x:%s:", run, tt.name))
		})
	}
}

func mustGet(t *testing.T, c cache.Cache, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := c.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) error: %v", key, err)
	}
	if !ok {
		return nil, false
	}
	b, isBytes := v.([]byte)
	if !isBytes {
		t.Fatalf("Get(%q) = %T, want []byte", key, v)
	}
	return b, true
}

func wantValue(t *testing.T, c cache.Cache, key, want string) {
	t.Helper()
	got, ok := mustGet(t, c, key)
	if !ok {
		t.Fatalf("Get(%q) = miss, want %q", key, want)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantMiss(t *testing.T, c cache.Cache, key string) {
	t.Helper()
	if got, ok := mustGet(t, c, key); ok {
		t.Fatalf("Get(%q) = %q, want a miss", key, got)
	}
}

func mustSet(t *testing.T, c cache.Cache, key, value string, opts ...cache.Option) {
	t.Helper()
	if err := c.Set(t.Context(), key, []byte(value), opts...); err != nil {
		t.Fatalf("Set(%q) error: %v", key, err)
	}
}

func testGetMiss(t *testing.T, c cache.Cache, p string) {
	wantMiss(t, c, p+"absent")
}

func testSetGet(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"a", "1")
	mustSet(t, c, p+"b", "")
	wantValue(t, c, p+"a", "1")
	wantValue(t, c, p+"b", "")
}

func testSetReplaces(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"a", "1", cache.WithTags(p+"t"))
	mustSet(t, c, p+"a", "2")
	wantValue(t, c, p+"a", "2")
	// The replacement has no tags: invalidating the old one's tag leaves it.
	if err := c.InvalidateTags(t.Context(), p+"t"); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c, p+"a", "2")
}

func testDelete(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"a", "1")
	mustSet(t, c, p+"b", "2")
	mustSet(t, c, p+"c", "3")
	if err := c.Delete(t.Context(), p+"a", p+"b"); err != nil {
		t.Fatalf("Delete error: %v", err)
	}
	wantMiss(t, c, p+"a")
	wantMiss(t, c, p+"b")
	wantValue(t, c, p+"c", "3")
}

func testDeleteAbsent(t *testing.T, c cache.Cache, p string) {
	if err := c.Delete(t.Context(), p+"absent"); err != nil {
		t.Fatalf("Delete(absent) error: %v", err)
	}
	if err := c.Delete(t.Context()); err != nil {
		t.Fatalf("Delete() error: %v", err)
	}
	if err := c.InvalidateTags(t.Context()); err != nil {
		t.Fatalf("InvalidateTags() error: %v", err)
	}
}

func testInvalidateTags(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"rooms", "[1,2]", cache.WithTags(p+"rooms"))
	mustSet(t, c, p+"room:1", "1", cache.WithTags(p+"rooms", p+"room:1"))
	mustSet(t, c, p+"room:2", "2", cache.WithTags(p+"room:2"))
	mustSet(t, c, p+"untagged", "u")
	if err := c.InvalidateTags(t.Context(), p+"rooms"); err != nil {
		t.Fatalf("InvalidateTags error: %v", err)
	}
	wantMiss(t, c, p+"rooms")
	wantMiss(t, c, p+"room:1")
	wantValue(t, c, p+"room:2", "2")
	wantValue(t, c, p+"untagged", "u")
}

func testInvalidateTagsAnyTag(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"a", "1", cache.WithTags(p+"x"), cache.WithTags(p+"y"))
	mustSet(t, c, p+"b", "2", cache.WithTags(p+"y"))
	if err := c.InvalidateTags(t.Context(), p+"nope", p+"x"); err != nil {
		t.Fatal(err)
	}
	wantMiss(t, c, p+"a")
	wantValue(t, c, p+"b", "2")
}

func testSetAfterInvalidate(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"a", "1", cache.WithTags(p+"t"))
	if err := c.InvalidateTags(t.Context(), p+"t"); err != nil {
		t.Fatal(err)
	}
	mustSet(t, c, p+"a", "2", cache.WithTags(p+"t"))
	wantValue(t, c, p+"a", "2")
}

func testTTL(t *testing.T, c cache.Cache, p string) {
	mustSet(t, c, p+"short", "s", cache.WithTTL(50*time.Millisecond))
	mustSet(t, c, p+"long", "l", cache.WithTTL(time.Hour))
	testutil.CheckFor(t, timeout, func() error {
		if v, ok := mustGet(t, c, p+"short"); ok {
			return fmt.Errorf("Get(%q) = %q after its 50ms TTL, want a miss", p+"short", v)
		}
		return nil
	})
	wantValue(t, c, p+"long", "l")
}

func testGetOrLoad(t *testing.T, c cache.Cache, p string) {
	var calls atomic.Int32
	load := func(context.Context) (any, error) {
		calls.Add(1)
		return []byte("loaded"), nil
	}
	for i := range 3 {
		v, err := c.GetOrLoad(t.Context(), p+"k", load)
		if err != nil {
			t.Fatalf("GetOrLoad #%d error: %v", i, err)
		}
		if b, _ := v.([]byte); string(b) != "loaded" {
			t.Fatalf("GetOrLoad #%d = %v, want loaded", i, v)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("load called %d times, want 1", n)
	}
	wantValue(t, c, p+"k", "loaded")
}

func testGetOrLoadError(t *testing.T, c cache.Cache, p string) {
	boom := errors.New("boom")
	_, err := c.GetOrLoad(t.Context(), p+"k", func(context.Context) (any, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("GetOrLoad error = %v, want %v", err, boom)
	}
	wantMiss(t, c, p+"k")
	v, err := c.GetOrLoad(t.Context(), p+"k", func(context.Context) (any, error) { return []byte("ok"), nil })
	if err != nil {
		t.Fatalf("GetOrLoad after an error: %v", err)
	}
	if b, _ := v.([]byte); string(b) != "ok" {
		t.Fatalf("GetOrLoad after an error = %v, want ok", v)
	}
}

func testGetOrLoadTags(t *testing.T, c cache.Cache, p string) {
	load := func(context.Context) (any, error) { return []byte("v"), nil }
	if _, err := c.GetOrLoad(t.Context(), p+"k", load, cache.WithTags(p+"t")); err != nil {
		t.Fatal(err)
	}
	wantValue(t, c, p+"k", "v")
	if err := c.InvalidateTags(t.Context(), p+"t"); err != nil {
		t.Fatal(err)
	}
	wantMiss(t, c, p+"k")
}

func testGetOrLoadSingleFlight(t *testing.T, c cache.Cache, p string) {
	const n = 16
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) (any, error) {
		calls.Add(1)
		<-release
		return []byte("once"), nil
	}
	var started, done sync.WaitGroup
	started.Add(n)
	results := make([]any, n)
	errs := make([]error, n)
	for i := range n {
		done.Go(func() {
			started.Done()
			results[i], errs[i] = c.GetOrLoad(t.Context(), p+"k", load)
		})
	}
	started.Wait()
	// Give callers without single flight the time to start loads of their
	// own, then release: with single flight there is only ever one.
	deadline := time.Now().Add(100 * time.Millisecond)
	for calls.Load() <= 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	done.Wait()
	if got := calls.Load(); got != 1 {
		t.Fatalf("load called %d times by %d concurrent GetOrLoad calls, want 1", got, n)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("GetOrLoad #%d error: %v", i, errs[i])
		}
		if b, _ := results[i].([]byte); string(b) != "once" {
			t.Fatalf("GetOrLoad #%d = %v, want once", i, results[i])
		}
	}
}

func testNilLoader(t *testing.T, c cache.Cache, p string) {
	if _, err := c.GetOrLoad(t.Context(), p+"k", nil); !errors.Is(err, cache.ErrNilLoader) {
		t.Fatalf("GetOrLoad(nil loader) error = %v, want %v", err, cache.ErrNilLoader)
	}
}
