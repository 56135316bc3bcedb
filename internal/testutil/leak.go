package testutil

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs a package's tests and then fails them if goroutines outlive
// them, as coder/websocket does: call it from TestMain. Goroutines get
// five seconds to end, since some (writers, pollers) stop asynchronously.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := CheckLeaks(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// CheckLeaks waits up to timeout for every goroutine but the test
// framework's own to end, and describes those left.
func CheckLeaks(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked %d goroutines:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		_, stack, _ := strings.Cut(g, "\n")
		stack = strings.TrimSpace(stack)
		if stack == "" ||
			strings.Contains(stack, "leakedGoroutines") ||
			strings.Contains(stack, "testing.(*M).") ||
			strings.Contains(stack, "testing.Main(") ||
			strings.Contains(stack, "testing.RunTests") ||
			strings.Contains(stack, "os/signal.signal_recv") ||
			strings.Contains(stack, "runtime.ensureSigM") ||
			strings.Contains(stack, "net/http.(*persistConn)") || // idle keep-alive clients of http.DefaultClient
			strings.Contains(stack, "internal/poll.runtime_pollWait") && strings.Contains(stack, "net/http.(*persistConn)") {
			continue
		}
		leaked = append(leaked, g)
	}
	return leaked
}
