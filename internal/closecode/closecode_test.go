package closecode_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/internal/closecode"
)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want bool
	}{
		{999, false}, {1000, true}, {1001, true}, {1003, true}, {1004, false}, {1005, false}, {1006, false},
		{1007, true}, {1011, true}, {1012, true}, {1013, true}, {1014, true}, {1015, false}, {1016, false},
		{2999, false}, {3000, true}, {4999, true}, {5000, false},
	}
	for _, tt := range tests {
		if got := closecode.Valid(tt.code); got != tt.want {
			t.Errorf("Valid(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}
