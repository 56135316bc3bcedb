package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/suzaku-go/suzaku/api"
)

// NewRoom is the body of POST /api/rooms.
type NewRoom struct {
	Name string `json:"name"`
}

// Validate reports invalid fields as api.FieldErrors, sent as a 422.
func (n NewRoom) Validate() error {
	if strings.TrimSpace(n.Name) == "" {
		return api.FieldError{Field: "name", Code: "required", Message: "must not be empty"}
	}
	return nil
}

// Room is the reply.
type Room struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func Example() {
	rooms := map[string]Room{"lobby": {ID: "lobby", Name: "Lobby"}}

	mux := http.NewServeMux()
	mux.Handle("POST /api/rooms", api.Handle(nil, func(ctx context.Context, r *http.Request, in NewRoom) (api.Result[Room], error) {
		room := Room{ID: "r1", Name: in.Name}
		return api.Created("/api/rooms/"+room.ID, room), nil
	}))
	mux.Handle("GET /api/rooms/{id}", api.Get(nil, func(ctx context.Context, r *http.Request) (Room, error) {
		room, ok := rooms[r.PathValue("id")]
		if !ok {
			return Room{}, api.Error(http.StatusNotFound, api.CodeNotFound, "no room "+r.PathValue("id"))
		}
		return room, nil
	}))
	h := api.Chain(api.RequestIDs, api.Recover(nil))(mux)

	do := func(method, target, body string) {
		var r *http.Request
		if body == "" {
			r = httptest.NewRequest(method, target, nil)
		} else {
			r = httptest.NewRequest(method, target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
		}
		r.Header.Set("X-Request-ID", "req-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body)
	}
	do("GET", "/api/rooms/lobby", "")
	do("GET", "/api/rooms/nope", "")
	do("POST", "/api/rooms", `{"name":"general"}`)
	do("POST", "/api/rooms", `{"name":" "}`)
	do("POST", "/api/rooms", `{"name":"general","private":true}`)
	// Output:
	// 200 application/json {"id":"lobby","name":"Lobby"}
	// 404 application/problem+json {"title":"Not Found","status":404,"detail":"no room nope","code":"not_found","request_id":"req-1"}
	// 201 application/json {"id":"r1","name":"general"}
	// 422 application/problem+json {"title":"Unprocessable Entity","status":422,"detail":"the request has an invalid field","code":"validation_failed","errors":[{"field":"name","code":"required","message":"must not be empty"}],"request_id":"req-1"}
	// 400 application/problem+json {"title":"Bad Request","status":400,"detail":"unknown field \"private\"","code":"unknown_field","errors":[{"field":"private","code":"unknown_field","message":"is not a known field"}],"request_id":"req-1"}
}

func ExampleNewCORS() {
	cors, err := api.NewCORS(api.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.preview.example.com"},
		AllowCredentials: true,
	})
	if err != nil {
		panic(err)
	}
	h := cors.Wrap(http.NotFoundHandler())

	r := httptest.NewRequest("OPTIONS", "/api/rooms", nil)
	r.Header.Set("Origin", "https://pr-7.preview.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
		fmt.Printf("%s: %s\n", k, w.Header().Get(k))
	}
	// Output:
	// 204
	// Access-Control-Allow-Origin: https://pr-7.preview.example.com
	// Access-Control-Allow-Credentials: true
	// Access-Control-Allow-Methods: POST
	// Access-Control-Allow-Headers: content-type
	// Access-Control-Max-Age: 600
}

// RoomKey is the sort key of the room list: creation order, then id.
type RoomKey struct {
	Seq int    `json:"s"`
	ID  string `json:"id"`
}

func ExamplePager() {
	all := []Room{{"a", "A"}, {"b", "B"}, {"c", "C"}}
	seq := map[string]int{"a": 1, "b": 2, "c": 3}
	pager := api.Pager[RoomKey]{Secret: []byte("an example secret, use 32 random bytes")}

	list := api.Get(nil, func(ctx context.Context, r *http.Request) (api.Page[Room], error) {
		q, err := pager.Parse(r)
		if err != nil {
			return api.Page[Room]{}, err // a 400 Problem
		}
		// SELECT … WHERE (seq, id) > (q.After.Seq, q.After.ID) ORDER BY seq, id LIMIT q.Limit+1
		var rows []Room
		for _, room := range all {
			if q.After == nil || seq[room.ID] > q.After.Seq {
				rows = append(rows, room)
			}
		}
		rows = rows[:min(len(rows), q.Limit+1)]
		return api.NewPage(pager, rows, q.Limit, func(r Room) RoomKey { return RoomKey{seq[r.ID], r.ID} })
	})

	for _, target := range []string{
		"/api/rooms?limit=2",
		"/api/rooms?limit=2&cursor=eyJzIjoyLCJpZCI6ImIifUuQR9kSL7GUA5qnBICBb3c",
		"/api/rooms?limit=2&cursor=eyJzIjoxLCJpZCI6ImIifUuQR9kSL7GUA5qnBICBb3c", // edited: {"s":1,…}
		"/api/rooms?limit=500",
	} {
		w := httptest.NewRecorder()
		list.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 200 {"items":[{"id":"a","name":"A"},{"id":"b","name":"B"}],"next":"eyJzIjoyLCJpZCI6ImIifUuQR9kSL7GUA5qnBICBb3c"}
	// 200 {"items":[{"id":"c","name":"C"}]}
	// 400 {"title":"Bad Request","status":400,"detail":"cursor is not a cursor this API issued; start again without one","code":"invalid_cursor","errors":[{"field":"cursor","code":"invalid_cursor","message":"is not a cursor this API issued; start again without one"}]}
	// 400 {"title":"Bad Request","status":400,"detail":"limit must be an integer from 1 to 200, not \"500\"","code":"invalid_limit","errors":[{"field":"limit","code":"invalid_limit","message":"must be an integer from 1 to 200"}]}
}
