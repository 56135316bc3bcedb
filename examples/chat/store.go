package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// Store is the chat's persistence: users, rooms, messages. One code path
// serves SQLite (the default, a file under the data directory) and
// PostgreSQL (when a DSN is given): the queries are portable and only the
// migrations differ.
type Store struct {
	db      *sql.DB
	dialect string // "sqlite" or "postgres"
}

// Errors the API maps to problems.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

type User struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	PasswordHash string `json:"-"`
}

type Room struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"` // unix milliseconds
}

type Message struct {
	ID         int64  `json:"id"`
	RoomID     int64  `json:"room_id"`
	User       string `json:"user"`
	Body       string `json:"body"`
	InsertedAt int64  `json:"inserted_at"` // unix milliseconds
}

// OpenStore opens PostgreSQL when dsn is set, otherwise SQLite in
// dataDir/chat.db, and migrates the schema.
func OpenStore(ctx context.Context, dsn, dataDir string) (*Store, error) {
	var s Store
	var err error
	if dsn != "" {
		s.dialect = "postgres"
		s.db, err = sql.Open("pgx", dsn)
	} else {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
		s.dialect = "sqlite"
		path := filepath.Join(dataDir, "chat.db")
		s.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
		if err == nil {
			s.db.SetMaxOpenConns(1) // one writer: SQLite's own rule
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return &s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// migrations are applied in order, once each; the version is recorded in
// schema_migrations.
var migrations = map[string][]string{
	"sqlite": {`
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE rooms (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id BIGINT NOT NULL REFERENCES rooms(id),
  user_name TEXT NOT NULL,
  body TEXT NOT NULL,
  inserted_at BIGINT NOT NULL
);
CREATE INDEX messages_room_id ON messages(room_id, id);`, tokenGenerations},
	"postgres": {`
CREATE TABLE users (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE rooms (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE TABLE messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room_id BIGINT NOT NULL REFERENCES rooms(id),
  user_name TEXT NOT NULL,
  body TEXT NOT NULL,
  inserted_at BIGINT NOT NULL
);
CREATE INDEX messages_room_id ON messages(room_id, id);`, tokenGenerations},
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var done int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&done); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for v, m := range migrations[s.dialect] {
		if v < done {
			continue
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range strings.Split(m, ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v+1); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func now() int64 { return time.Now().UnixMilli() }

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "duplicate key"))
}

// CreateUser stores a user; ErrExists if the name is taken.
func (s *Store) CreateUser(ctx context.Context, name, hash string) (User, error) {
	u := User{Name: name, PasswordHash: hash}
	err := s.db.QueryRowContext(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
		name, hash, now()).Scan(&u.ID)
	if isUnique(err) {
		return User{}, ErrExists
	}
	return u, err
}

// UserByName finds a user; ErrNotFound if there is none.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	err := s.db.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE name = $1`, name).Scan(&u.ID, &u.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// CreateRoom stores a room; ErrExists if the name is taken.
func (s *Store) CreateRoom(ctx context.Context, name string) (Room, error) {
	r := Room{Name: name, CreatedAt: now()}
	err := s.db.QueryRowContext(ctx, `INSERT INTO rooms (name, created_at) VALUES ($1, $2) RETURNING id`, name, r.CreatedAt).Scan(&r.ID)
	if isUnique(err) {
		return Room{}, ErrExists
	}
	return r, err
}

// Room finds a room by id; ErrNotFound if there is none.
func (s *Store) Room(ctx context.Context, id int64) (Room, error) {
	r := Room{ID: id}
	err := s.db.QueryRowContext(ctx, `SELECT name, created_at FROM rooms WHERE id = $1`, id).Scan(&r.Name, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, ErrNotFound
	}
	return r, err
}

// Rooms lists every room, oldest first.
func (s *Store) Rooms(ctx context.Context) ([]Room, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_at FROM rooms ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rooms := []Room{}
	for rows.Next() {
		var r Room
		if err := rows.Scan(&r.ID, &r.Name, &r.CreatedAt); err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// AddMessage stores a message in a room.
func (s *Store) AddMessage(ctx context.Context, roomID int64, user, body string) (Message, error) {
	m := Message{RoomID: roomID, User: user, Body: body, InsertedAt: now()}
	err := s.db.QueryRowContext(ctx, `INSERT INTO messages (room_id, user_name, body, inserted_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		roomID, user, body, m.InsertedAt).Scan(&m.ID)
	return m, err
}

// Messages returns up to limit messages of a room, newest first, older
// than the message id before (0: from the newest).
func (s *Store) Messages(ctx context.Context, roomID, before int64, limit int) ([]Message, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_name, body, inserted_at FROM messages
		WHERE room_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, roomID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := []Message{}
	for rows.Next() {
		m := Message{RoomID: roomID}
		if err := rows.Scan(&m.ID, &m.User, &m.Body, &m.InsertedAt); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}
