package local

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestMain fails the package's tests if goroutines they started outlive
// them.
func TestMain(m *testing.M) { testutil.Main(m) }
