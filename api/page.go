package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Page size bounds used when [Pager]'s fields are zero.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

const (
	// maxCursorLen bounds a cursor, in characters, before decoding.
	maxCursorLen = 4096
	// cursorTagLen is the length of a signed cursor's truncated
	// HMAC-SHA256 tag, in bytes: 128 bits.
	cursorTagLen = 16
	// cursorMACContext separates cursor MACs from other uses of a secret.
	cursorMACContext = "suzaku api cursor v1\x00"
)

// Page is one page of a list endpoint's results, encoded as
// {"items": [...], "next": "cursor"}. Next is empty on the last page; the
// client passes it back as ?cursor= to get the following page.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Pager reads ?limit= and ?cursor= and mints cursors for keyset
// ("seek") pagination over a sort key K: a struct holding the sort columns
// of the last item and, to break ties, its id, such as
//
//	type roomKey struct {
//		CreatedAt time.Time `json:"t"`
//		ID        string    `json:"id"`
//	}
//
// A cursor is opaque to clients: base64url (no padding) of K's JSON, with
// a 128-bit HMAC-SHA256 tag appended when Secret is set. If the list can be
// filtered or sorted, put the filter in K too, so that a cursor cannot be
// replayed against another query. The zero value is a usable, unsigned
// Pager.
type Pager[K any] struct {
	// DefaultLimit is the page size when ?limit= is absent. Zero means
	// DefaultPageLimit (50); it is capped at MaxLimit.
	DefaultLimit int
	// MaxLimit is the largest ?limit= accepted; larger is a 400. Zero
	// means MaxPageLimit (200).
	MaxLimit int
	// Secret, if set, signs cursors so that clients cannot forge or edit
	// them; a tampered cursor is a 400 with code "invalid_cursor". Unsigned
	// cursors are fine when K holds nothing a client could not ask for
	// directly. Use at least 32 random bytes.
	Secret []byte
}

// PageQuery is a parsed page request.
type PageQuery[K any] struct {
	// Limit is the page size, between 1 and the Pager's MaxLimit.
	Limit int
	// After is the key of the last item of the previous page, or nil for
	// the first page. Fetch the items that sort after it.
	After *K
}

func (p Pager[K]) limits() (def, max int) {
	max = p.MaxLimit
	if max <= 0 {
		max = MaxPageLimit
	}
	def = p.DefaultLimit
	if def <= 0 {
		def = DefaultPageLimit
	}
	return min(def, max), max
}

// Parse reads ?limit= and ?cursor= from r's query. A limit that is not an
// integer from 1 to MaxLimit is a 400 *[Problem] with code "invalid_limit";
// a cursor that does not decode or verify is a 400 with code
// "invalid_cursor". Both name the parameter in [Problem.Errors]. An empty
// cursor means the first page.
func (p Pager[K]) Parse(r *http.Request) (PageQuery[K], error) {
	def, max := p.limits()
	q := r.URL.Query()
	pq := PageQuery[K]{Limit: def}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			msg := fmt.Sprintf("must be an integer from 1 to %d", max)
			return pq, &Problem{
				Status: http.StatusBadRequest, Code: CodeInvalidLimit,
				Detail: "limit " + msg + ", not " + strconv.Quote(s),
				Errors: []FieldError{{Field: "limit", Code: CodeInvalidLimit, Message: msg}},
			}
		}
		pq.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		k, err := p.DecodeCursor(s)
		if err != nil {
			return pq, err
		}
		pq.After = &k
	}
	return pq, nil
}

// Cursor encodes key as an opaque cursor. It fails only if K cannot be
// encoded as JSON.
func (p Pager[K]) Cursor(key K) (string, error) {
	data, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("api: encode cursor: %w", err)
	}
	if len(p.Secret) > 0 {
		data = append(data, p.tag(data)...)
	}
	return base64.RawURLEncoding.EncodeToString(data), nil
}

// DecodeCursor decodes and, if the Pager has a Secret, verifies a cursor
// made by [Pager.Cursor]. Its error is a 400 *[Problem] with code
// "invalid_cursor".
func (p Pager[K]) DecodeCursor(s string) (K, error) {
	var k K
	if len(s) > maxCursorLen {
		return k, invalidCursor()
	}
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return k, invalidCursor()
	}
	if len(p.Secret) > 0 {
		if len(data) < cursorTagLen {
			return k, invalidCursor()
		}
		body, tag := data[:len(data)-cursorTagLen], data[len(data)-cursorTagLen:]
		if !hmac.Equal(tag, p.tag(body)) {
			return k, invalidCursor()
		}
		data = data[:len(data)-cursorTagLen]
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return k, invalidCursor()
	}
	return k, nil
}

func (p Pager[K]) tag(data []byte) []byte {
	m := hmac.New(sha256.New, p.Secret)
	m.Write([]byte(cursorMACContext))
	m.Write(data)
	return m.Sum(nil)[:cursorTagLen]
}

func invalidCursor() *Problem {
	const msg = "is not a cursor this API issued; start again without one"
	return &Problem{
		Status: http.StatusBadRequest, Code: CodeInvalidCursor,
		Detail: "cursor " + msg,
		Errors: []FieldError{{Field: "cursor", Code: CodeInvalidCursor, Message: msg}},
	}
}

// NewPage builds the page for a query that fetched up to limit+1 items,
// the usual keyset trick: if there are more than limit items, it keeps the
// first limit and sets Next to the cursor of the last one kept, made from
// key(item). A nil items becomes an empty list, so that the JSON has
// "items": [].
func NewPage[T, K any](p Pager[K], items []T, limit int, key func(T) K) (Page[T], error) {
	if items == nil {
		items = []T{}
	}
	if limit <= 0 || len(items) <= limit {
		return Page[T]{Items: items}, nil
	}
	items = items[:limit]
	next, err := p.Cursor(key(items[limit-1]))
	if err != nil {
		return Page[T]{}, err
	}
	return Page[T]{Items: items, Next: next}, nil
}
