package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/suzaku-go/suzaku/dashboard"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/telemetry"
)

// BenchmarkDashboardSample is what the dashboard costs a node per
// interval (one a second by default) whether or not a page is open: read
// the metrics and runtime/metrics, encode the sample. Patterns are the
// router patterns with channels (labels are patterns, so they are few).
func BenchmarkDashboardSample(b *testing.B) {
	for _, patterns := range []int{1, 20} {
		b.Run(fmt.Sprintf("patterns=%d", patterns), func(b *testing.B) {
			m, _ := metrics.New(metrics.Config{})
			for i := range patterns {
				p := fmt.Sprintf("room%d:*", i)
				m.Event(telemetry.Event{Kind: telemetry.KindJoin, Pattern: p})
				m.Event(telemetry.Event{Kind: telemetry.KindHandle, Pattern: p})
			}
			d, _ := dashboard.New(dashboard.Config{Authorize: dashboard.BasicAuth("ops", "pw"), Metrics: m})
			sample := dashboard.SampleOnce(d)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(sample(ctx)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
