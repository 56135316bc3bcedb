package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/cache/httpcache"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

func (c credentials) Validate() error {
	var errs []error
	if !validName.MatchString(c.Name) {
		errs = append(errs, api.FieldError{Field: "name", Code: "invalid", Message: "1 to 32 letters, digits, - or _"})
	}
	// The length rule of new passwords is signup's (auth.Passwords); a
	// login only needs a bound.
	if n := utf8.RuneCountInString(c.Password); n < 1 || n > auth.DefaultMaxPasswordLength {
		errs = append(errs, api.FieldError{Field: "password", Code: "invalid", Message: fmt.Sprintf("1 to %d characters", auth.DefaultMaxPasswordLength)})
	}
	return errors.Join(errs...)
}

// newAccount is a signup: new passwords are 8 to 128 characters (the
// defaults of auth.Passwords, NIST SP 800-63B's minimum).
type newAccount credentials

func (c newAccount) Validate() error {
	var errs []error
	if !validName.MatchString(c.Name) {
		errs = append(errs, api.FieldError{Field: "name", Code: "invalid", Message: "1 to 32 letters, digits, - or _"})
	}
	if n := utf8.RuneCountInString(c.Password); n < auth.DefaultMinPasswordLength || n > auth.DefaultMaxPasswordLength {
		msg := fmt.Sprintf("%d to %d characters", auth.DefaultMinPasswordLength, auth.DefaultMaxPasswordLength)
		errs = append(errs, api.FieldError{Field: "password", Code: "invalid", Message: msg})
	}
	return errors.Join(errs...)
}

type session struct {
	Token string `json:"token"`
	User  User   `json:"user"`
}

type newRoom struct {
	Name string `json:"name"`
}

func (n newRoom) Validate() error {
	if !validName.MatchString(n.Name) {
		return api.FieldError{Field: "name", Code: "invalid", Message: "1 to 32 letters, digits, - or _"}
	}
	return nil
}

// messagePage is a page of history; Next is null on the last page.
type messagePage struct {
	Items []Message `json:"items"`
	Next  *string   `json:"next"`
}

// routes mounts the JSON API.
func (a *app) routes(mux *http.ServeMux) error {
	mw, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: a.auth, Logger: a.log})
	if err != nil {
		return err
	}
	cfg := &api.Config{Logger: a.log}
	revalidate := httpcache.Middleware(httpcache.Config{Policy: httpcache.Policy{Private: true, NoCache: true}})
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "node": a.cluster.Node()})
	})
	mux.Handle("POST /api/signup", api.Handle(cfg, a.signup))
	mux.Handle("POST /api/login", api.Handle(cfg, a.login))
	mux.Handle("GET /api/rooms", mw.Require(revalidate(api.Get(cfg, a.listRooms))))
	mux.Handle("POST /api/rooms", mw.Require(api.Handle(cfg, a.createRoom)))
	mux.Handle("GET /api/rooms/{id}/messages", mw.Require(api.Get(cfg, a.history)))
	mux.Handle("POST /api/logout", mw.Require(api.Get(cfg, a.logout)))
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg.WriteError(w, r, api.Error(http.StatusNotFound, api.CodeNotFound, "no such API route"))
	}))
	return nil
}

func (a *app) signup(ctx context.Context, r *http.Request, in newAccount) (api.Result[session], error) {
	hash, err := a.passwords.Hash(ctx, in.Password)
	if errors.Is(err, auth.ErrBusy) {
		return api.Result[session]{}, retryAfter(http.StatusServiceUnavailable, time.Second, "too many sign-ups at once")
	}
	if err != nil {
		return api.Result[session]{}, err
	}
	u, err := a.store.CreateUser(ctx, in.Name, hash)
	if errors.Is(err, ErrExists) {
		return api.Result[session]{}, api.Error(http.StatusConflict, "name_taken", "that name is taken")
	}
	if err != nil {
		return api.Result[session]{}, err
	}
	s, err := a.session(ctx, u)
	return api.Result[session]{Status: http.StatusCreated, Body: s}, err
}

// login checks a password at a bounded rate (per account and per client
// address) and with bounded concurrency, spending the same work on
// unknown names as on known ones.
func (a *app) login(ctx context.Context, r *http.Request, in credentials) (session, error) {
	if wait, ok := a.throttle.Allow(r, in.Name); !ok {
		return session{}, retryAfter(http.StatusTooManyRequests, wait, "too many login attempts: try again later")
	}
	invalid := api.Error(http.StatusUnauthorized, "invalid_credentials", "wrong name or password")
	u, err := a.store.UserByName(ctx, in.Name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return session{}, err
	}
	ok, err := a.passwords.Check(ctx, u.PasswordHash, in.Password) // "" for an unknown name: a dummy check
	switch {
	case errors.Is(err, auth.ErrBusy):
		return session{}, retryAfter(http.StatusServiceUnavailable, time.Second, "too many logins at once")
	case err != nil || !ok:
		a.throttle.Failed(in.Name)
		return session{}, invalid
	}
	a.throttle.Succeeded(in.Name)
	return a.session(ctx, u)
}

func (a *app) session(ctx context.Context, u User) (session, error) {
	tok, err := a.auth.Issue(ctx, auth.Identity{Subject: u.Name})
	return session{Token: tok, User: u}, err
}

// listRooms serves the room list from the cache; creating a room
// invalidates it on every node and tells subscribed SPAs to refetch.
func (a *app) listRooms(ctx context.Context, r *http.Request) (json.RawMessage, error) {
	v, err := a.rooms.GetOrLoad(ctx, "rooms", func(ctx context.Context) (any, error) {
		rooms, err := a.store.Rooms(ctx)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string][]Room{"items": rooms})
	}, cache.WithTags("rooms"))
	if err != nil {
		return nil, err
	}
	return json.RawMessage(v.([]byte)), nil
}

func (a *app) createRoom(ctx context.Context, r *http.Request, in newRoom) (api.Result[Room], error) {
	// Every room created makes every open SPA refetch the list: bounded
	// per user (10 at once, then one every 10 s).
	id, _ := auth.FromContext(ctx)
	if wait, ok := a.roomRate.Take(id.Subject); !ok {
		return api.Result[Room]{}, retryAfter(http.StatusTooManyRequests, wait, "too many rooms created: try again later")
	}
	room, err := a.store.CreateRoom(ctx, in.Name)
	if errors.Is(err, ErrExists) {
		return api.Result[Room]{}, api.Error(http.StatusConflict, "room_exists", "a room with that name exists")
	}
	if err != nil {
		return api.Result[Room]{}, err
	}
	if err := a.rooms.InvalidateTags(ctx, "rooms"); err != nil {
		a.log.Warn("invalidate rooms", "err", err)
	}
	if err := a.socket.Broadcast(ctx, "rooms", "room_created", room); err != nil {
		a.log.Warn("broadcast room_created", "err", err)
	}
	return api.Created("/api/rooms/"+strconv.FormatInt(room.ID, 10), room), nil
}

var pager = api.Pager[int64]{}

func (a *app) history(ctx context.Context, r *http.Request) (messagePage, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return messagePage{}, api.Error(http.StatusNotFound, api.CodeNotFound, "no such room")
	}
	if _, err := a.store.Room(ctx, id); errors.Is(err, ErrNotFound) {
		return messagePage{}, api.Error(http.StatusNotFound, api.CodeNotFound, "no such room")
	}
	q, err := pager.Parse(r)
	if err != nil {
		return messagePage{}, err
	}
	var before int64
	if q.After != nil {
		before = *q.After
	}
	msgs, err := a.store.Messages(ctx, id, before, q.Limit+1)
	if err != nil {
		return messagePage{}, err
	}
	page := messagePage{Items: msgs}
	if len(msgs) > q.Limit {
		page.Items = msgs[:q.Limit]
		next, err := pager.Cursor(page.Items[q.Limit-1].ID)
		if err != nil {
			return messagePage{}, err
		}
		page.Next = &next
	}
	return page, nil
}
