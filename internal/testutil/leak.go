package testutil

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs a package's tests and then fails them if goroutines they
// started outlive them, as coder/websocket does: call it from TestMain.
// Goroutines get five seconds to end, since some (writers, pollers) stop
// asynchronously.
func Main(m *testing.M) {
	before := goroutines()
	code := m.Run()
	if code == 0 {
		if err := CheckLeaks(before, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// CheckLeaks waits up to timeout for every goroutine that is not in
// before (goroutine id → stack, from a snapshot taken when the tests
// started) to end, and describes those left. Nothing is ignored by class
// but what the runtime keeps for good once started (the signal handler)
// and the idle keep-alive connections of http.DefaultTransport, which are
// closed first: a goroutine a test started and forgot is a leak, whatever
// it runs.
func CheckLeaks(before map[string]string, timeout time.Duration) error {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	deadline := time.Now().Add(timeout)
	for {
		leaked := leaked(before)
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked %d goroutines:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// permanent are the goroutines the runtime starts on first use and keeps,
// named by the function their creator line names: they are no leak.
var permanent = []string{
	"created by os/signal.Notify", // os/signal.loop, after the first signal.Notify
	"created by runtime.ensureSigM",
}

// goroutines returns every goroutine but the caller's, by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := make(map[string]string)
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // the calling goroutine comes first
		}
		header, _, _ := strings.Cut(g, "\n")
		id, _, _ := strings.Cut(strings.TrimPrefix(header, "goroutine "), " ")
		if id != "" {
			all[id] = g
		}
	}
	return all
}

// leaked returns the stacks of the goroutines not in before and not
// permanent.
func leaked(before map[string]string) []string {
	var out []string
	for id, g := range goroutines() {
		if _, ok := before[id]; ok {
			continue
		}
		if isPermanent(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// isPermanent reports whether the goroutine g was created by one of the
// runtime's own permanent creators. Only the creator line counts, so that
// a leaked goroutine whose stack merely passes through one of those
// functions is still reported.
func isPermanent(g string) bool {
	lines := strings.Split(strings.TrimSpace(g), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "created by ") {
			continue
		}
		for _, p := range permanent {
			if strings.HasPrefix(l, p) {
				return true
			}
		}
	}
	return false
}
