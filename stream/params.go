package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// MaxEpochLen is the longest epoch [ParseJoin] accepts, in bytes. Stores
// make much shorter ones.
const MaxEpochLen = 64

// ErrBadPosition is wrapped by the errors of [ParseJoin].
var ErrBadPosition = errors.New("invalid stream position")

// ParseJoin reads the recovery position from a join's params: a JSON
// object with "epoch" (a string) and "offset" (a non-negative integer, or
// its decimal string, as phoenix.js hands out refs). Other keys are the
// application's and are ignored. ok is false when neither key is there (a
// fresh join), or when payload is not a JSON object. Exactly one of the
// two, or either of a wrong type or range, is an error wrapping
// [ErrBadPosition].
func ParseJoin(payload []byte) (pos Position, ok bool, err error) {
	var p struct {
		Epoch  json.RawMessage `json:"epoch"`
		Offset json.RawMessage `json:"offset"`
	}
	if len(bytes.TrimSpace(payload)) == 0 || json.Unmarshal(payload, &p) != nil {
		return Position{}, false, nil
	}
	if p.Epoch == nil && p.Offset == nil {
		return Position{}, false, nil
	}
	if p.Epoch == nil || p.Offset == nil {
		return Position{}, false, fmt.Errorf("%w: need both epoch and offset", ErrBadPosition)
	}
	if err := json.Unmarshal(p.Epoch, &pos.Epoch); err != nil || p.Epoch[0] != '"' {
		return Position{}, false, fmt.Errorf("%w: epoch must be a string", ErrBadPosition)
	}
	if len(pos.Epoch) == 0 || len(pos.Epoch) > MaxEpochLen {
		return Position{}, false, fmt.Errorf("%w: epoch must be 1 to %d bytes", ErrBadPosition, MaxEpochLen)
	}
	digits := p.Offset
	if digits[0] == '"' {
		var s string
		if json.Unmarshal(digits, &s) != nil {
			return Position{}, false, fmt.Errorf("%w: offset must be an integer", ErrBadPosition)
		}
		digits = []byte(s)
	}
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' || digits[0] == '+' {
		return Position{}, false, fmt.Errorf("%w: offset must be a non-negative integer", ErrBadPosition)
	}
	if pos.Offset, err = strconv.ParseUint(string(digits), 10, 64); err != nil {
		return Position{}, false, fmt.Errorf("%w: offset must be an integer from 0 to 2^64-1", ErrBadPosition)
	}
	return pos, true, nil
}
