package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/api"
)

// createRoom is the request type of the tests' POST /api/rooms.
type createRoom struct {
	Name       string `json:"name"`
	MaxMembers int    `json:"max_members"`
	Owner      struct {
		Name string `json:"name"`
	} `json:"owner"`
}

func (c createRoom) Validate() error {
	var errs []error
	if c.Name == "" {
		errs = append(errs, api.FieldError{Field: "name", Code: "required", Message: "must not be empty"})
	}
	if c.MaxMembers < 0 {
		errs = append(errs, api.FieldError{Field: "max_members", Code: "range", Message: "must not be negative"})
	}
	return errors.Join(errs...)
}

type room struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	MaxMembers int    `json:"max_members"`
}

var errTaken = api.Error(http.StatusConflict, api.CodeConflict, "the room name is taken")

// createRoomFunc answers by name: "taken" is a conflict, "boom" an internal
// error whose text must not leak, anything else 201 Created.
func createRoomFunc(_ context.Context, _ *http.Request, in createRoom) (api.Result[room], error) {
	switch in.Name {
	case "taken":
		return api.Result[room]{}, fmt.Errorf("create room: %w", errTaken)
	case "boom":
		return api.Result[room]{}, errors.New("db: password=hunter2 refused")
	}
	return api.Created("/api/rooms/r1", room{ID: "r1", Name: in.Name, MaxMembers: in.MaxMembers}), nil
}

// request builds a request with a body; contentType "" sends none.
func request(method, target, contentType, body string) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// problem decodes a problem+json response, failing on any other.
func problem(t *testing.T, rec *httptest.ResponseRecorder) api.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != api.ProblemContentType {
		t.Fatalf("Content-Type = %q, want %q (body %s)", ct, api.ProblemContentType, rec.Body)
	}
	var p api.Problem
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	if p.Status != rec.Code {
		t.Fatalf("problem status %d, response status %d", p.Status, rec.Code)
	}
	return p
}

// nopBody is a reusable request body for benchmarks.
type nopBody struct{ strings.Reader }

func (*nopBody) Close() error { return nil }

var _ io.ReadCloser = (*nopBody)(nil)
