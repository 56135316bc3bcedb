package channel_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestMain fails the package's tests if goroutines outlive them: idle
// channels, connections and endpoints must hold none.
func TestMain(m *testing.M) { testutil.Main(m) }
