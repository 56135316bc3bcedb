package cachetest_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/cache/cachetest"
)

// A Cache implementation proves itself by passing the suite, one fresh
// cache per subtest. This is the Memory cache's own conformance test.
func ExampleRun() {
	conformance := func(t *testing.T) {
		cachetest.Run(t, func(t *testing.T) cache.Cache {
			c, err := cache.New(cache.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		})
	}
	_ = conformance // in an implementation's _test.go: func TestConformance(t *testing.T) { … }
}
