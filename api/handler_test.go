package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestHandleDecodeErrors(t *testing.T) {
	t.Parallel()
	h := api.Handle(&api.Config{MaxBodyBytes: 64}, createRoomFunc)
	const jsonCT = "application/json"
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
		detail      string // substring of the detail
		field       string // Errors[0].Field, if any
	}{
		{name: "no body", contentType: jsonCT, body: "",
			status: 400, code: api.CodeEmptyBody, detail: "empty"},
		{name: "white space only", contentType: jsonCT, body: " \n\t",
			status: 400, code: api.CodeEmptyBody, detail: "empty"},
		{name: "syntax error with offset", contentType: jsonCT, body: `{"name": "a",}`,
			status: 400, code: api.CodeInvalidJSON, detail: "malformed JSON at byte 14: invalid character '}'"},
		{name: "truncated", contentType: jsonCT, body: `{"name": "a"`,
			status: 400, code: api.CodeInvalidJSON, detail: "ends in the middle of a JSON value"},
		{name: "second value", contentType: jsonCT, body: `{"name":"a"} {}`,
			status: 400, code: api.CodeInvalidJSON, detail: "more data after byte 12"},
		{name: "stray closing brace", contentType: jsonCT, body: `{"name":"a"}}`,
			status: 400, code: api.CodeInvalidJSON, detail: "more data"},
		{name: "wrong type", contentType: jsonCT, body: `{"name":"a","max_members":"ten"}`,
			status: 400, code: api.CodeWrongType, detail: `field "max_members" must be an integer, not a string`, field: "max_members"},
		{name: "wrong type nested", contentType: jsonCT, body: `{"owner":{"name":5}}`,
			status: 400, code: api.CodeWrongType, detail: `field "owner.name" must be a string, not a number`, field: "owner.name"},
		{name: "not an object", contentType: jsonCT, body: `[1]`,
			status: 400, code: api.CodeWrongType, detail: "must be an object, not an array"},
		{name: "unknown field", contentType: jsonCT, body: `{"name":"a","admin":true}`,
			status: 400, code: api.CodeUnknownField, detail: `unknown field "admin"`, field: "admin"},
		{name: "too large", contentType: jsonCT, body: `{"name":"` + strings.Repeat("a", 100) + `"}`,
			status: 413, code: api.CodeBodyTooLarge, detail: "larger than the limit of 64 bytes"},
		{name: "too large after the value", contentType: jsonCT, body: `{"name":"a"}` + strings.Repeat(" ", 100),
			status: 413, code: api.CodeBodyTooLarge, detail: "64 bytes"},
		{name: "no content type", contentType: "", body: `{"name":"a"}`,
			status: 415, code: api.CodeUnsupportedMediaType, detail: "application/json"},
		{name: "text/plain", contentType: "text/plain", body: `{"name":"a"}`,
			status: 415, code: api.CodeUnsupportedMediaType},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `name=a`,
			status: 415, code: api.CodeUnsupportedMediaType},
		{name: "latin1 charset", contentType: "application/json; charset=iso-8859-1", body: `{"name":"a"}`,
			status: 415, code: api.CodeUnsupportedMediaType},
		{name: "not quite json", contentType: "application/jsonx", body: `{"name":"a"}`,
			status: 415, code: api.CodeUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := serve(h, request("POST", "/api/rooms", tt.contentType, tt.body))
			testutil.Equal(t, "status", rec.Code, tt.status)
			p := problem(t, rec)
			testutil.Equal(t, "code", p.Code, tt.code)
			testutil.Equal(t, "title", p.Title, http.StatusText(tt.status))
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if tt.field != "" {
				if len(p.Errors) != 1 {
					t.Fatalf("errors = %+v, want one for %q", p.Errors, tt.field)
				}
				testutil.Equal(t, "field", p.Errors[0].Field, tt.field)
				testutil.Equal(t, "field code", p.Errors[0].Code, tt.code)
			}
		})
	}
}

func TestHandleContentTypes(t *testing.T) {
	t.Parallel()
	h := api.Handle(nil, createRoomFunc)
	for _, ct := range []string{
		"application/json",
		"Application/JSON",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"application/merge-patch+json",
	} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			rec := serve(h, request("POST", "/api/rooms", ct, `{"name":"general"}`))
			testutil.Equal(t, "status", rec.Code, http.StatusCreated)
		})
	}
}

func TestHandleDefaultLimit(t *testing.T) {
	t.Parallel()
	body := `{"name":"` + strings.Repeat("a", api.DefaultMaxBodyBytes) + `"}`
	rec := serve(api.Handle(nil, createRoomFunc), request("POST", "/", "application/json", body))
	testutil.Equal(t, "status", rec.Code, http.StatusRequestEntityTooLarge)

	rec = serve(api.Handle(&api.Config{MaxBodyBytes: -1}, createRoomFunc), request("POST", "/", "application/json", body))
	testutil.Equal(t, "status without a limit", rec.Code, http.StatusCreated)
}

func TestHandleReplies(t *testing.T) {
	t.Parallel()
	rec := serve(api.Handle(nil, createRoomFunc),
		request("POST", "/api/rooms", "application/json", `{"name":"general","max_members":5}`))
	testutil.Equal(t, "status", rec.Code, http.StatusCreated)
	testutil.Equal(t, "Location", rec.Header().Get("Location"), "/api/rooms/r1")
	testutil.Equal(t, "Content-Type", rec.Header().Get("Content-Type"), "application/json")
	testutil.Equal(t, "body", rec.Body.String(), `{"id":"r1","name":"general","max_members":5}`+"\n")

	del := api.Get(nil, func(ctx context.Context, r *http.Request) (api.NoContent, error) {
		return api.NoContent{}, nil
	})
	rec = serve(del, request("DELETE", "/api/rooms/r1", "", ""))
	testutil.Equal(t, "DELETE status", rec.Code, http.StatusNoContent)
	testutil.Equal(t, "DELETE body", rec.Body.String(), "")

	mux := http.NewServeMux()
	mux.Handle("GET /api/rooms/{id}", api.Get(nil, func(ctx context.Context, r *http.Request) (room, error) {
		return room{ID: r.PathValue("id"), Name: "general"}, nil
	}))
	rec = serve(mux, request("GET", "/api/rooms/r7", "", ""))
	testutil.Equal(t, "GET status", rec.Code, http.StatusOK)
	testutil.Equal(t, "GET body", rec.Body.String(), `{"id":"r7","name":"general","max_members":0}`+"\n")

	accepted := api.Get(nil, func(ctx context.Context, r *http.Request) (api.Result[map[string]string], error) {
		return api.Result[map[string]string]{
			Status: http.StatusAccepted,
			Header: http.Header{"Retry-After": {"5"}},
			Body:   map[string]string{"job": "j1"},
		}, nil
	})
	rec = serve(accepted, request("POST", "/api/jobs", "", ""))
	testutil.Equal(t, "Result status", rec.Code, http.StatusAccepted)
	testutil.Equal(t, "Result header", rec.Header().Get("Retry-After"), "5")
	testutil.Equal(t, "Result body", rec.Body.String(), `{"job":"j1"}`+"\n")
}

// pointerValidated has Validate on the pointer receiver.
type pointerValidated struct {
	N int `json:"n"`
}

func (p *pointerValidated) Validate() error {
	if p.N%2 != 0 {
		return errors.New("n must be even")
	}
	return nil
}

// problemValidated returns a Problem of its own from Validate.
type problemValidated struct {
	Token string `json:"token"`
}

func (p problemValidated) Validate() error {
	if p.Token == "" {
		return api.Error(http.StatusUnauthorized, api.CodeUnauthorized, "a token is required")
	}
	return nil
}

func TestHandleValidation(t *testing.T) {
	t.Parallel()
	rec := serve(api.Handle(nil, createRoomFunc),
		request("POST", "/api/rooms", "application/json", `{"name":"","max_members":-1}`))
	testutil.Equal(t, "status", rec.Code, http.StatusUnprocessableEntity)
	p := problem(t, rec)
	testutil.Equal(t, "code", p.Code, api.CodeValidationFailed)
	testutil.Equal(t, "detail", p.Detail, "the request has 2 invalid fields")
	testutil.Equal(t, "errors", p.Errors, []api.FieldError{
		{Field: "name", Code: "required", Message: "must not be empty"},
		{Field: "max_members", Code: "range", Message: "must not be negative"},
	})

	echo := func(_ context.Context, _ *http.Request, in *pointerValidated) (*pointerValidated, error) {
		return in, nil
	}
	rec = serve(api.Handle(nil, echo), request("POST", "/", "application/json", `{"n":3}`))
	testutil.Equal(t, "pointer In status", rec.Code, http.StatusUnprocessableEntity)
	testutil.Equal(t, "pointer In detail", problem(t, rec).Detail, "n must be even")

	rec = serve(api.Handle(nil, echo), request("POST", "/", "application/json", `null`))
	testutil.Equal(t, "null for a pointer In", rec.Code, http.StatusBadRequest)
	testutil.Equal(t, "null code", problem(t, rec).Code, api.CodeWrongType)

	echoValue := func(_ context.Context, _ *http.Request, in pointerValidated) (pointerValidated, error) {
		return in, nil
	}
	rec = serve(api.Handle(nil, echoValue), request("POST", "/", "application/json", `{"n":3}`))
	testutil.Equal(t, "pointer receiver status", rec.Code, http.StatusUnprocessableEntity)
	rec = serve(api.Handle(nil, echoValue), request("POST", "/", "application/json", `{"n":4}`+"\n"))
	testutil.Equal(t, "valid status", rec.Code, http.StatusOK)
	testutil.Equal(t, "valid body", rec.Body.String(), `{"n":4}`+"\n")

	tok := func(_ context.Context, _ *http.Request, in problemValidated) (api.NoContent, error) {
		return api.NoContent{}, nil
	}
	rec = serve(api.Handle(nil, tok), request("POST", "/", "application/json", `{}`))
	testutil.Equal(t, "Problem from Validate", rec.Code, http.StatusUnauthorized)
	testutil.Equal(t, "Problem code", problem(t, rec).Code, api.CodeUnauthorized)
}

func TestHandleErrors(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	cfg := &api.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	h := api.RequestIDs(api.Handle(cfg, createRoomFunc))

	rec := serve(h, request("POST", "/api/rooms", "application/json", `{"name":"taken"}`))
	testutil.Equal(t, "wrapped Problem status", rec.Code, http.StatusConflict)
	p := problem(t, rec)
	testutil.Equal(t, "code", p.Code, api.CodeConflict)
	testutil.Equal(t, "detail", p.Detail, "the room name is taken")
	testutil.Equal(t, "request id", p.RequestID, rec.Header().Get(api.HeaderRequestID))
	testutil.Equal(t, "4xx is not logged", logs.String(), "")

	r := request("POST", "/api/rooms", "application/json", `{"name":"boom"}`)
	r.Header.Set(api.HeaderRequestID, "req-42")
	rec = serve(h, r)
	testutil.Equal(t, "internal status", rec.Code, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("the internal error leaked: %s", rec.Body)
	}
	p = problem(t, rec)
	testutil.Equal(t, "internal problem", p, api.Problem{
		Title: "Internal Server Error", Status: 500, Code: api.CodeInternal, RequestID: "req-42",
	})
	var line struct {
		Level, Msg, Error string
		RequestID         string `json:"request_id"`
		Status            int
	}
	testutil.Success(t, json.Unmarshal(logs.Bytes(), &line))
	testutil.Equal(t, "log", line, struct {
		Level, Msg, Error string
		RequestID         string `json:"request_id"`
		Status            int
	}{"ERROR", "api: request failed", "db: password=hunter2 refused", "req-42", 500})
}

func TestHandleUnencodableReply(t *testing.T) {
	t.Parallel()
	h := api.Get(nil, func(context.Context, *http.Request) (float64, error) { return math.Inf(1), nil })
	rec := serve(h, request("GET", "/", "", ""))
	testutil.Equal(t, "status", rec.Code, http.StatusInternalServerError)
	testutil.Equal(t, "code", problem(t, rec).Code, api.CodeInternal)
}

func TestProblemWrite(t *testing.T) {
	t.Parallel()
	shared := api.Error(http.StatusNotFound, "", "no room r9")
	h := api.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "999")
		api.WriteProblem(w, r, shared)
	}))
	r := request("GET", "/api/rooms/r9", "", "")
	r.Header.Set(api.HeaderRequestID, "abc")
	rec := serve(h, r)
	testutil.Equal(t, "status", rec.Code, http.StatusNotFound)
	testutil.Equal(t, "Content-Length", rec.Header().Get("Content-Length"), "")
	testutil.Equal(t, "problem", problem(t, rec), api.Problem{
		Title: "Not Found", Status: 404, Detail: "no room r9", Code: api.CodeNotFound, RequestID: "abc",
	})
	testutil.Equal(t, "shared Problem unchanged", *shared, api.Problem{Status: 404, Detail: "no room r9"})
	testutil.Equal(t, "Error()", shared.Error(), "api: 404 not_found: no room r9")

	cause := errors.New("redis down")
	p := &api.Problem{Status: 503, Err: cause}
	testutil.ErrorIs(t, p, cause)
	testutil.Equal(t, "Error() with cause", p.Error(), "api: 503 unavailable: redis down")
	testutil.Equal(t, "zero Problem", (&api.Problem{}).Error(), "api: 500 internal")
}

func TestProblemWriteError(t *testing.T) {
	t.Parallel()
	var cfg *api.Config // nil: defaults, no log
	rec := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg.WriteError(w, r, errors.New("secret"))
	}), request("GET", "/", "", ""))
	testutil.Equal(t, "status", rec.Code, http.StatusInternalServerError)
	testutil.Equal(t, "detail", problem(t, rec).Detail, "")
}
