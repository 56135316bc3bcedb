package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
)

// tokenGenerations is migration 2: a user's token generation goes up when
// they log out, which revokes every token issued before (auth.Revocable).
const tokenGenerations = `
CREATE TABLE token_generations (
  name TEXT PRIMARY KEY,
  gen BIGINT NOT NULL
);`

// TokenGeneration returns name's token generation, 0 if it never changed.
func (s *Store) TokenGeneration(ctx context.Context, name string) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, `SELECT gen FROM token_generations WHERE name = $1`, name).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return gen, err
}

// BumpTokenGeneration revokes every token of name issued so far.
func (s *Store) BumpTokenGeneration(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO token_generations (name, gen) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET gen = token_generations.gen + 1`, name)
	return err
}

// generation serves auth.Revocable from the cache, which every node
// drops when a user logs out (logout deletes the key cluster-wide).
func (a *app) generation(ctx context.Context, name string) (int64, error) {
	v, err := a.gens.GetOrLoad(ctx, name, func(ctx context.Context) (any, error) {
		return a.store.TokenGeneration(ctx, name)
	})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// logout revokes every token of the user (all tabs, all devices), on
// every node, then closes their sockets: the tabs reconnect with a
// revoked token and are refused.
func (a *app) logout(ctx context.Context, r *http.Request) (api.NoContent, error) {
	id, _ := auth.FromContext(ctx)
	if err := a.store.BumpTokenGeneration(ctx, id.Subject); err != nil {
		return api.NoContent{}, err
	}
	if err := a.gens.Delete(ctx, id.Subject); err != nil {
		return api.NoContent{}, err
	}
	return api.NoContent{}, auth.Logout(ctx, a.socket.Disconnect, "users_socket", id.Subject)
}

// retryAfter answers a login that must wait: 429 with Retry-After
// from the throttle, or 503 when every hashing slot is taken.
func retryAfter(status int, wait time.Duration, detail string) *api.Problem {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	p := api.Error(status, "", detail)
	p.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	return p
}
