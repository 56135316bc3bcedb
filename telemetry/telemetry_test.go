package telemetry_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/telemetry"
)

func TestTelemetryMulti(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "Multi()", telemetry.Multi(), nil)
	testutil.Equal(t, "Multi(nil, nil)", telemetry.Multi(nil, nil), nil)
	var a, b []telemetry.Kind
	ha := telemetry.HookFunc(func(e telemetry.Event) { a = append(a, e.Kind) })
	hb := telemetry.HookFunc(func(e telemetry.Event) { b = append(b, e.Kind) })
	one := telemetry.Multi(nil, ha)
	one.Event(telemetry.Event{Kind: telemetry.KindJoin})
	testutil.Equal(t, "len(a) after Multi(nil, ha)", len(a), 1)
	both := telemetry.Multi(ha, nil, hb)
	both.Event(telemetry.Event{Kind: telemetry.KindFrameIn})
	testutil.Equal(t, "a", a, []telemetry.Kind{telemetry.KindJoin, telemetry.KindFrameIn})
	testutil.Equal(t, "b", b, []telemetry.Kind{telemetry.KindFrameIn})
}

func TestTelemetryKindNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range telemetry.Kinds() {
		name := k.String()
		if name == "unknown" || name == "" || seen[name] {
			t.Errorf("Kind(%d).String() = %q: missing or duplicate", k, name)
		}
		seen[name] = true
	}
	testutil.Equal(t, "Kind(0).String()", telemetry.Kind(0).String(), "unknown")
	testutil.Equal(t, "Kind(255).String()", telemetry.Kind(255).String(), "unknown")
}

// sink is a hook that counts, as a metrics sink does.
type sink struct{ n [256]int64 }

func (s *sink) Event(e telemetry.Event) { s.n[e.Kind]++ }

// BenchmarkTelemetryEmit measures an event site with no hook (the nil
// check every site pays) and with a counting hook: neither allocates.
func BenchmarkTelemetryEmit(b *testing.B) {
	emit := func(h telemetry.Hook, n int) {
		if h != nil {
			h.Event(telemetry.Event{Kind: telemetry.KindFrameIn, N: n})
		}
	}
	b.Run("none", func(b *testing.B) {
		var h telemetry.Hook
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			emit(h, i)
		}
	})
	b.Run("counter", func(b *testing.B) {
		var h telemetry.Hook = &sink{}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			emit(h, i)
		}
	})
}

func TestTelemetryEmitAllocs(t *testing.T) {
	h := telemetry.Multi(&sink{}, &sink{})
	allocs := testing.AllocsPerRun(100, func() {
		h.Event(telemetry.Event{Kind: telemetry.KindJoin, Pattern: "room:*", Reason: "ok"})
	})
	testutil.Equal(t, "allocs per event through Multi", allocs, 0.0)
}
