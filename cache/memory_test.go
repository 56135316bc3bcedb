package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/cache/cachetest"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/telemetry"
)

const waitFor = 5 * time.Second

func newMemory(t *testing.T, cfg cache.Config) *cache.Memory {
	t.Helper()
	c, err := cache.New(cfg)
	testutil.Success(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fakeClock is a Config.Now that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestCacheConformance(t *testing.T) {
	t.Parallel()
	cachetest.Run(t, func(t *testing.T) cache.Cache {
		return newMemory(t, cache.Config{})
	})
}

func TestCacheNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     cache.Config
		wantErr bool
		topic   string
	}{
		{name: "zero", topic: "suzaku:cache:default"},
		{name: "named", cfg: cache.Config{Name: "rooms"}, topic: "suzaku:cache:rooms"},
		{name: "negative max bytes", cfg: cache.Config{MaxBytes: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := cache.New(tt.cfg)
			if tt.wantErr {
				testutil.Error(t, err)
				return
			}
			testutil.Success(t, err)
			t.Cleanup(func() { _ = c.Close() })
			testutil.Equal(t, "Topic()", c.Topic(), tt.topic)
		})
	}
}

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	c := newMemory(t, cache.Config{TTL: time.Minute, Now: clk.Now})
	ctx := t.Context()
	testutil.Success(t, c.Set(ctx, "default", "d"))
	testutil.Success(t, c.Set(ctx, "hour", "h", cache.WithTTL(time.Hour)))
	testutil.Success(t, c.Set(ctx, "forever", "f", cache.WithTTL(-1)))

	hit := func(key string) bool {
		_, ok, err := c.Get(ctx, key)
		testutil.Success(t, err)
		return ok
	}
	steps := []struct {
		name                  string
		advance               time.Duration
		wantDefault, wantHour bool
		wantForever           bool
	}{
		{name: "before the default TTL", advance: 59 * time.Second, wantDefault: true, wantHour: true, wantForever: true},
		{name: "after the default TTL", advance: 2 * time.Second, wantHour: true, wantForever: true},
		{name: "after WithTTL", advance: time.Hour, wantForever: true},
		{name: "a century later", advance: 100 * 365 * 24 * time.Hour, wantForever: true},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		testutil.Equal(t, s.name+": Get(default) hit", hit("default"), s.wantDefault)
		testutil.Equal(t, s.name+": Get(hour) hit", hit("hour"), s.wantHour)
		testutil.Equal(t, s.name+": Get(forever) hit", hit("forever"), s.wantForever)
	}
}

func TestCacheNoDefaultExpiry(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	c := newMemory(t, cache.Config{TTL: -1, Now: clk.Now})
	testutil.Success(t, c.Set(t.Context(), "k", "v"))
	clk.Advance(10 * 365 * 24 * time.Hour)
	_, ok, _ := c.Get(t.Context(), "k")
	testutil.Equal(t, "Get(k) hit with TTL -1", ok, true)
}

func TestCacheByteBound(t *testing.T) {
	t.Parallel()
	const maxBytes = 10_000
	c := newMemory(t, cache.Config{MaxBytes: maxBytes})
	ctx := t.Context()
	for i := range 100 {
		testutil.Success(t, c.Set(ctx, fmt.Sprintf("k%03d", i), make([]byte, 1000)))
	}
	testutil.CheckFor(t, waitFor, func() error {
		st := c.Stats()
		if st.Bytes > maxBytes || st.Evictions == 0 {
			return fmt.Errorf("Stats() = %+v, want Bytes <= %d and Evictions > 0", st, maxBytes)
		}
		hits := 0
		for i := range 100 {
			if _, ok, _ := c.Get(ctx, fmt.Sprintf("k%03d", i)); ok {
				hits++
			}
		}
		if hits > maxBytes/1000 {
			return fmt.Errorf("%d entries of 1000 bytes still cached, want at most %d", hits, maxBytes/1000)
		}
		return nil
	})
}

// sized is a value that reports its own size.
type sized struct{ n int }

func (s sized) Size() int { return s.n }

func TestCacheWeigher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any
		want  uint64
	}{
		{name: "bytes", value: make([]byte, 100), want: cache.EntryOverhead + 1 + 100},
		{name: "string", value: "hello", want: cache.EntryOverhead + 1 + 5},
		{name: "sizer", value: sized{4000}, want: cache.EntryOverhead + 1 + 4000},
		{name: "other", value: 42, want: cache.EntryOverhead + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newMemory(t, cache.Config{})
			testutil.Success(t, c.Set(t.Context(), "k", tt.value))
			testutil.CheckFor(t, waitFor, func() error {
				if got := c.Stats().Bytes; got != tt.want {
					return fmt.Errorf("Stats().Bytes = %d, want %d", got, tt.want)
				}
				return nil
			})
		})
	}
}

func TestCacheSizerBound(t *testing.T) {
	t.Parallel()
	c := newMemory(t, cache.Config{MaxBytes: 10_000})
	testutil.Success(t, c.Set(t.Context(), "huge", sized{50_000}))
	testutil.CheckFor(t, waitFor, func() error {
		if _, ok, _ := c.Get(t.Context(), "huge"); ok {
			return errors.New("an entry over MaxBytes is still cached")
		}
		return nil
	})
}

// TestCacheInvalidateTagsDuringLoad checks that a load which may have read
// data from before an InvalidateTags is not served after it.
func TestCacheInvalidateTagsDuringLoad(t *testing.T) {
	t.Parallel()
	c := newMemory(t, cache.Config{})
	ctx := t.Context()
	loading, release := make(chan struct{}), make(chan struct{})
	res := make(chan any, 1)
	go func() {
		v, err := c.GetOrLoad(ctx, "rooms", func(context.Context) (any, error) {
			close(loading)
			<-release
			return "old", nil
		}, cache.WithTags("rooms"))
		if err != nil {
			v = err
		}
		res <- v
	}()
	<-loading
	testutil.Success(t, c.InvalidateTags(ctx, "rooms"))
	close(release)
	testutil.Equal(t, "GetOrLoad()", <-res, any("old"))
	v, ok, _ := c.Get(ctx, "rooms")
	testutil.Equal(t, "Get(rooms) after InvalidateTags during its load", v, nil)
	testutil.Equal(t, "hit", ok, false)
}

func TestCacheDeleteDuringLoad(t *testing.T) {
	t.Parallel()
	c := newMemory(t, cache.Config{})
	ctx := t.Context()
	loading, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	res := make(chan any, 1)
	go func() {
		v, err := c.GetOrLoad(ctx, "k", func(context.Context) (any, error) {
			if calls.Add(1) == 1 {
				close(loading)
				<-release
				return "stale", nil
			}
			return "fresh", nil
		})
		if err != nil {
			v = err
		}
		res <- v
	}()
	<-loading
	testutil.Success(t, c.Delete(ctx, "k"))
	close(release)
	<-res
	if v, ok, _ := c.Get(ctx, "k"); ok && v == "stale" {
		t.Fatalf("Get(k) = %v after a Delete during its load, want a miss or a reload", v)
	}
}

func TestCacheStats(t *testing.T) {
	t.Parallel()
	c := newMemory(t, cache.Config{})
	ctx := t.Context()
	testutil.Success(t, c.Set(ctx, "a", "1"))
	_, _, _ = c.Get(ctx, "a")
	_, _, _ = c.Get(ctx, "a")
	_, _, _ = c.Get(ctx, "b")
	_, _ = c.GetOrLoad(ctx, "a", func(context.Context) (any, error) { return "x", nil })
	st := c.Stats()
	testutil.Equal(t, "Stats().Hits", st.Hits, uint64(3))
	testutil.Equal(t, "Stats().Misses", st.Misses, uint64(1))
	testutil.Equal(t, "Stats().Subscribed", st.Subscribed, false)
}

func TestCacheClose(t *testing.T) {
	t.Parallel()
	c, err := cache.New(cache.Config{})
	testutil.Success(t, err)
	testutil.Success(t, c.Close())
	testutil.Success(t, c.Close())
	testutil.Success(t, c.Set(t.Context(), "k", "v"))
	v, ok, _ := c.Get(t.Context(), "k")
	testutil.Equal(t, "Get(k) after Close", v, any("v"))
	testutil.Equal(t, "hit", ok, true)
}

func TestCacheTelemetry(t *testing.T) {
	t.Parallel()
	counts := map[telemetry.Kind]int{}
	var mu sync.Mutex
	hook := telemetry.HookFunc(func(e telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Pattern != "rooms" {
			t.Errorf("event %v labelled %q, want the cache's name", e.Kind, e.Pattern)
		}
		counts[e.Kind] += max(e.N, 1)
	})
	c, err := cache.New(cache.Config{Name: "rooms", Hook: hook})
	testutil.Success(t, err)
	defer c.Close()
	ctx := context.Background()
	_, _, _ = c.Get(ctx, "a")
	testutil.Success(t, c.Set(ctx, "a", 1))
	_, _, _ = c.Get(ctx, "a")
	_, _ = c.GetOrLoad(ctx, "a", func(context.Context) (any, error) { return 2, nil })
	testutil.Success(t, c.Delete(ctx, "a", "b"))
	mu.Lock()
	defer mu.Unlock()
	testutil.Equal(t, "events", counts, map[telemetry.Kind]int{telemetry.KindCacheMiss: 1, telemetry.KindCacheHit: 2, telemetry.KindCacheInvalidate: 2})
}
