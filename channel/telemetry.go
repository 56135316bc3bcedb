package channel

import (
	"errors"
	"time"

	"github.com/suzaku-go/suzaku/telemetry"
)

// The emit helpers below are small enough to inline: with no hook, an
// event site costs a nil check, no allocation and no clock read. The
// pattern of a topic is looked up only when a hook is installed.

func (s *Socket) frameIn(n int) {
	if s.hook != nil {
		s.hook.Event(telemetry.Event{Kind: telemetry.KindFrameIn, N: n})
	}
}

func (s *Socket) frameOut(n int) {
	if s.hook != nil {
		s.hook.Event(telemetry.Event{Kind: telemetry.KindFrameOut, N: n})
	}
}

// now returns the time, or the zero time without a hook, so that callers
// read the clock only when someone listens.
func (s *Socket) now() time.Time {
	if s.hook == nil {
		return time.Time{}
	}
	return time.Now()
}

func (s *Socket) emitTopic(kind telemetry.Kind, topic, reason string, start time.Time) {
	if s.hook != nil {
		s.emitTopicSlow(kind, topic, reason, start)
	}
}

func (s *Socket) emitTopicSlow(kind telemetry.Kind, topic, reason string, start time.Time) {
	var d time.Duration
	if !start.IsZero() {
		d = time.Since(start)
	}
	s.hook.Event(telemetry.Event{Kind: kind, Pattern: s.router.Pattern(topic), Reason: reason, Duration: d})
}

// closeReason names why a joined channel ended, for KindChannelClose.
func closeReason(reason error) string {
	switch {
	case errors.Is(reason, ErrLeft):
		return "left"
	case errors.Is(reason, ErrClosed):
		return "closed"
	case errors.Is(reason, ErrDuplicateJoin):
		return "duplicate"
	case errors.Is(reason, ErrCrashed):
		return "crashed"
	case isClean(reason):
		return "stopped"
	default:
		return "error"
	}
}
