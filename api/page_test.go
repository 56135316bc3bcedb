package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

type roomKey struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"id"`
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestPagerRoundTrip(t *testing.T) {
	t.Parallel()
	key := roomKey{CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), ID: "r42"}
	for _, p := range []api.Pager[roomKey]{{}, {Secret: secret}} {
		t.Run("signed="+boolString(p.Secret != nil), func(t *testing.T) {
			t.Parallel()
			cur, err := p.Cursor(key)
			testutil.Success(t, err)
			if strings.ContainsAny(cur, "+/=") {
				t.Fatalf("cursor %q is not unpadded base64url", cur)
			}
			q, err := p.Parse(request("GET", "/api/rooms?limit=10&cursor="+cur, "", ""))
			testutil.Success(t, err)
			testutil.Equal(t, "limit", q.Limit, 10)
			if q.After == nil {
				t.Fatal("After = nil")
			}
			testutil.Equal(t, "After", *q.After, key)

			q, err = p.Parse(request("GET", "/api/rooms", "", ""))
			testutil.Success(t, err)
			testutil.Equal(t, "first page", q, api.PageQuery[roomKey]{Limit: api.DefaultPageLimit})
		})
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestPagerTamperedCursor(t *testing.T) {
	t.Parallel()
	p := api.Pager[roomKey]{Secret: secret}
	good, err := p.Cursor(roomKey{ID: "r1"})
	testutil.Success(t, err)
	// An unsigned cursor for another id, as a client could forge it.
	forged, err := api.Pager[roomKey]{}.Cursor(roomKey{ID: "r0"})
	testutil.Success(t, err)
	otherKey, err := api.Pager[roomKey]{Secret: []byte("another-secret-another-secret-!!")}.Cursor(roomKey{ID: "r1"})
	testutil.Success(t, err)
	flipped := []byte(good)
	flipped[3] ^= 'A' ^ 'B'
	if flipped[3] == good[3] {
		flipped[3] = 'Q'
	}
	tests := []struct {
		name   string
		cursor string
	}{
		{name: "edited", cursor: string(flipped)},
		{name: "truncated", cursor: good[:len(good)-2]},
		{name: "forged unsigned", cursor: forged},
		{name: "other secret", cursor: otherKey},
		{name: "not base64", cursor: "!!!"},
		{name: "too short", cursor: "AAAA"},
		{name: "huge", cursor: strings.Repeat("A", 5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Parse(request("GET", "/api/rooms?cursor="+tt.cursor, "", ""))
			var prob *api.Problem
			if !errors.As(err, &prob) {
				t.Fatalf("Parse error = %v, want a *Problem", err)
			}
			testutil.Equal(t, "status", prob.Status, http.StatusBadRequest)
			testutil.Equal(t, "code", prob.Code, api.CodeInvalidCursor)
			testutil.Equal(t, "field", prob.Errors[0].Field, "cursor")
		})
	}

	// Unsigned cursors still reject what is not a cursor.
	_, err = api.Pager[roomKey]{}.DecodeCursor("bm90IGpzb24")
	testutil.Error(t, err)
}

func TestPagerLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pager api.Pager[roomKey]
		query string
		limit int
		ok    bool
	}{
		{name: "default", query: "", limit: 50, ok: true},
		{name: "max", query: "limit=200", limit: 200, ok: true},
		{name: "one", query: "limit=1", limit: 1, ok: true},
		{name: "zero", query: "limit=0"},
		{name: "negative", query: "limit=-5"},
		{name: "over max", query: "limit=201"},
		{name: "not a number", query: "limit=ten"},
		{name: "float", query: "limit=1.5"},
		{name: "custom default", pager: api.Pager[roomKey]{DefaultLimit: 20, MaxLimit: 100}, limit: 20, ok: true},
		{name: "custom max", pager: api.Pager[roomKey]{MaxLimit: 100}, query: "limit=101"},
		{name: "default capped at max", pager: api.Pager[roomKey]{MaxLimit: 10}, limit: 10, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := tt.pager.Parse(request("GET", "/api/rooms?"+tt.query, "", ""))
			if tt.ok {
				testutil.Success(t, err)
				testutil.Equal(t, "limit", q.Limit, tt.limit)
				return
			}
			var prob *api.Problem
			if !errors.As(err, &prob) {
				t.Fatalf("Parse error = %v, want a *Problem", err)
			}
			testutil.Equal(t, "code", prob.Code, api.CodeInvalidLimit)
			testutil.Equal(t, "field", prob.Errors[0].Field, "limit")
			if !strings.Contains(prob.Detail, "from 1 to") {
				t.Errorf("detail %q does not give the bounds", prob.Detail)
			}
		})
	}
}

// TestPagerWalk pages through a list with NewPage and the cursors it
// returns, as a client would, and checks that every item comes once.
func TestPagerWalk(t *testing.T) {
	t.Parallel()
	type item struct {
		ID string `json:"id"`
	}
	var all []item
	for i := range 7 {
		all = append(all, item{ID: string(rune('a' + i))})
	}
	p := api.Pager[roomKey]{Secret: secret}
	// fetch is the store: up to limit items after the key, in ID order.
	fetch := func(after *roomKey, limit int) []item {
		var out []item
		for _, it := range all {
			if after == nil || it.ID > after.ID {
				out = append(out, it)
			}
			if len(out) == limit {
				break
			}
		}
		return out
	}
	var got []item
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("no last page")
		}
		q, err := p.Parse(request("GET", "/api/items?limit=3&cursor="+cursor, "", ""))
		testutil.Success(t, err)
		page, err := api.NewPage(p, fetch(q.After, q.Limit+1), q.Limit, func(it item) roomKey { return roomKey{ID: it.ID} })
		testutil.Success(t, err)
		got = append(got, page.Items...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	testutil.Equal(t, "items", got, all)

	empty, err := api.NewPage(p, []item(nil), 3, func(it item) roomKey { return roomKey{ID: it.ID} })
	testutil.Success(t, err)
	b, err := json.Marshal(empty)
	testutil.Success(t, err)
	testutil.Equal(t, "empty page JSON", string(b), `{"items":[]}`)
}
