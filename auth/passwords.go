package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of [PasswordsConfig].
const (
	DefaultMinPasswordLength = 8   // characters, as NIST SP 800-63B asks at least
	DefaultMaxPasswordLength = 128 // characters: room for passphrases, a bound on hashing input
	DefaultHashQueueTimeout  = 2 * time.Second
)

// ErrBusy is returned when every password hashing slot stayed taken for
// the whole queue timeout: answer 503 with Retry-After, the server is
// saturated (or under a login storm).
var ErrBusy = errors.New("auth: password hashing busy")

// ErrPasswordLength is returned by [Passwords.Validate] and Hash for a
// password shorter than MinLength or longer than MaxLength.
var ErrPasswordLength = errors.New("auth: password length out of range")

// PasswordsConfig configures [Passwords]. The zero value is valid.
type PasswordsConfig struct {
	// Hasher hashes new passwords. The zero Hasher is argon2id with
	// OWASP's parameters (19 MiB, 2 passes).
	Hasher Hasher
	// MaxConcurrent is how many hashes may run at once; each holds
	// Hasher.Memory (19 MiB by default) while it runs, so this bounds the
	// memory a login storm can take. Zero means GOMAXPROCS.
	MaxConcurrent int
	// QueueTimeout is how long a hash waits for a slot before giving up
	// with ErrBusy. Zero means DefaultHashQueueTimeout (2 s).
	QueueTimeout time.Duration
	// MinLength and MaxLength bound new passwords, in characters. Zero
	// means DefaultMinPasswordLength (8) and DefaultMaxPasswordLength
	// (128). Check accepts any length up to 4 × MaxLength bytes, so that
	// older, shorter passwords still log in.
	MinLength, MaxLength int
}

// Passwords hashes and checks passwords with a bounded number of argon2id
// computations at a time, and spends the same work on logins for unknown
// accounts as for known ones, so that timing does not tell which names
// exist. It is safe for concurrent use.
type Passwords struct {
	hasher       Hasher
	sem          chan struct{}
	queueTimeout time.Duration
	min, max     int

	dummyOnce sync.Once
	dummy     string // a hash of a random password, with Hasher's parameters
}

// NewPasswords returns a Passwords for cfg.
func NewPasswords(cfg PasswordsConfig) (*Passwords, error) {
	if err := cfg.Hasher.params().check(); err != nil {
		return nil, fmt.Errorf("auth: passwords: %w", err)
	}
	p := &Passwords{hasher: cfg.Hasher, queueTimeout: cfg.QueueTimeout, min: cfg.MinLength, max: cfg.MaxLength}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p.sem = make(chan struct{}, n)
	if p.queueTimeout <= 0 {
		p.queueTimeout = DefaultHashQueueTimeout
	}
	if p.min <= 0 {
		p.min = DefaultMinPasswordLength
	}
	if p.max <= 0 {
		p.max = DefaultMaxPasswordLength
	}
	if p.min > p.max {
		return nil, fmt.Errorf("auth: passwords: MinLength %d over MaxLength %d", p.min, p.max)
	}
	return p, nil
}

// Validate checks a new password's length, in characters.
func (p *Passwords) Validate(password string) error {
	if n := utf8.RuneCountInString(password); n < p.min || n > p.max {
		return fmt.Errorf("%w: want %d to %d characters", ErrPasswordLength, p.min, p.max)
	}
	return nil
}

// MinLength and MaxLength return the bounds Validate applies.
func (p *Passwords) MinLength() int { return p.min }

// MaxLength returns the longest password Validate accepts.
func (p *Passwords) MaxLength() int { return p.max }

// acquire takes a hashing slot, waiting up to the queue timeout.
func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.queueTimeout)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Passwords) release() { <-p.sem }

// Hash validates password and hashes it, in a slot.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if err := p.Validate(password); err != nil {
		return "", err
	}
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	return p.hasher.Hash(password)
}

// Check reports whether password matches hash, in a slot. An empty hash
// (an unknown account) is checked against a hash of a random password,
// which never matches: the caller spends the same time either way, and
// should answer both with the same error.
func (p *Passwords) Check(ctx context.Context, hash, password string) (bool, error) {
	if len(password) > 4*p.max {
		password = password[:4*p.max] // bound the work; cannot match a stored password this long
		hash = ""
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	if hash == "" {
		_, _ = p.hasher.Check(p.dummyHash(), password)
		return false, nil
	}
	return p.hasher.Check(hash, password)
}

func (p *Passwords) dummyHash() string {
	p.dummyOnce.Do(func() {
		p.dummy, _ = p.hasher.Hash(fmt.Sprintf("dummy %d", time.Now().UnixNano()))
	})
	return p.dummy
}
