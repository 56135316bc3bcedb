package dashboard_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }
