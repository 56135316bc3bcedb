package telemetry_test

import (
	"fmt"

	"github.com/suzaku-go/suzaku/telemetry"
)

// A hook that prints the joins it sees; put it in channel.Config.Hook (or
// combine it with a metrics sink through Multi).
func ExampleHookFunc() {
	var h telemetry.Hook = telemetry.HookFunc(func(e telemetry.Event) {
		if e.Kind == telemetry.KindJoin {
			fmt.Println(e.Kind, e.Pattern)
		}
	})
	h.Event(telemetry.Event{Kind: telemetry.KindJoin, Pattern: "room:*"})
	h.Event(telemetry.Event{Kind: telemetry.KindFrameIn, N: 42})
	// Output: join room:*
}
