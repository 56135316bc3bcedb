package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// postgresDSN is the local PostgreSQL the store test runs against; set
// CHAT_TEST_POSTGRES to use another one.
func postgresDSN() string {
	if dsn := os.Getenv("CHAT_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// stores returns a fresh SQLite store and, when the server answers, a
// PostgreSQL store in a schema of its own. Without PostgreSQL the test
// skips that part locally and fails in CI.
func stores(t *testing.T) map[string]*Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]*Store{}
	lite, err := OpenStore(ctx, "", t.TempDir())
	must(t, err)
	t.Cleanup(func() { lite.Close() })
	out["sqlite"] = lite

	admin, err := sql.Open("pgx", postgresDSN())
	must(t, err)
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL unreachable in CI: %v", err)
		}
		t.Logf("PostgreSQL unreachable, testing SQLite only: %v", err)
		return out
	}
	schema := fmt.Sprintf("chat_test_%d", rand.Int64())
	_, err = admin.ExecContext(ctx, "CREATE SCHEMA "+schema)
	must(t, err)
	t.Cleanup(func() {
		db, err := sql.Open("pgx", postgresDSN())
		if err == nil {
			_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	pg, err := OpenStore(ctx, postgresDSN()+"&search_path="+schema, "")
	must(t, err)
	t.Cleanup(func() { pg.Close() })
	out["postgres"] = pg
	return out
}

func TestStore(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u, err := s.CreateUser(ctx, "ann", "hash")
			must(t, err)
			_, err = s.CreateUser(ctx, "ann", "other")
			errorIs(t, err, ErrExists)
			got, err := s.UserByName(ctx, "ann")
			must(t, err)
			equal(t, "user", got, u)
			_, err = s.UserByName(ctx, "bob")
			errorIs(t, err, ErrNotFound)

			r, err := s.CreateRoom(ctx, "lobby")
			must(t, err)
			_, err = s.CreateRoom(ctx, "lobby")
			errorIs(t, err, ErrExists)
			r2, err := s.Room(ctx, r.ID)
			must(t, err)
			equal(t, "room", r2, r)
			_, err = s.Room(ctx, 999)
			errorIs(t, err, ErrNotFound)
			rooms, err := s.Rooms(ctx)
			must(t, err)
			equal(t, "rooms", rooms, []Room{r})

			var ids []int64
			for i := range 5 {
				m, err := s.AddMessage(ctx, r.ID, "ann", fmt.Sprint("m", i))
				must(t, err)
				ids = append(ids, m.ID)
			}
			page, err := s.Messages(ctx, r.ID, 0, 2)
			must(t, err)
			equal(t, "first page", []string{page[0].Body, page[1].Body}, []string{"m4", "m3"})
			page, err = s.Messages(ctx, r.ID, page[1].ID, 10)
			must(t, err)
			equal(t, "second page", len(page), 3)
			equal(t, "oldest", page[2].ID, ids[0])

			// Migrations run once: reopening is a no-op.
			must(t, s.migrate(ctx))
			if errors.Is(err, ErrNotFound) {
				t.Fatal("unreachable")
			}
		})
	}
}
