package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
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
	if n := utf8.RuneCountInString(c.Password); n < 6 || n > 128 {
		errs = append(errs, api.FieldError{Field: "password", Code: "invalid", Message: "6 to 128 characters"})
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
	mw, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: a.tokens, Logger: a.log})
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

func (a *app) signup(ctx context.Context, r *http.Request, in credentials) (api.Result[session], error) {
	hash, err := auth.HashPassword(in.Password)
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
	s, err := a.session(u)
	return api.Result[session]{Status: http.StatusCreated, Body: s}, err
}

func (a *app) login(ctx context.Context, r *http.Request, in credentials) (session, error) {
	invalid := api.Error(http.StatusUnauthorized, "invalid_credentials", "wrong name or password")
	u, err := a.store.UserByName(ctx, in.Name)
	if errors.Is(err, ErrNotFound) {
		return session{}, invalid
	}
	if err != nil {
		return session{}, err
	}
	if ok, err := auth.CheckPassword(u.PasswordHash, in.Password); err != nil || !ok {
		return session{}, invalid
	}
	return a.session(u)
}

// logout closes every socket of the user (all tabs), which then reconnect
// and authenticate again. Tokens are stateless: the SPA forgets its own.
func (a *app) logout(ctx context.Context, r *http.Request) (api.NoContent, error) {
	id, _ := auth.FromContext(ctx)
	return api.NoContent{}, auth.Logout(ctx, a.socket.Disconnect, "users_socket", id.Subject)
}

func (a *app) session(u User) (session, error) {
	tok, err := a.tokens.Issue(auth.Identity{Subject: u.Name})
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
