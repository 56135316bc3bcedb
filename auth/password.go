package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Default argon2id parameters: OWASP's first recommendation (19 MiB, two
// passes, one lane), a 16-byte salt and a 32-byte hash.
const (
	DefaultMemory  = 19 * 1024 // KiB
	DefaultTime    = 2
	DefaultThreads = 1
	DefaultSaltLen = 16
	DefaultKeyLen  = 32
)

// Limits on the parameters of a hash that CheckPassword accepts, so that a
// corrupted or planted hash cannot make a check take gigabytes.
const (
	maxMemory  = 1 << 21 // KiB: 2 GiB
	maxTime    = 100
	maxByteLen = 1024
)

// ErrMalformedHash is returned for a password hash that is not an argon2id
// PHC string this package can check.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Hasher hashes passwords with argon2id (RFC 9106) into PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// salt and hash in unpadded standard base64. Zero fields take the Default
// values, so the zero Hasher uses the defaults. A hash records its
// parameters: Check verifies hashes made with any parameters, and
// NeedsRehash says when one should be replaced by a hash with the current
// ones, to be done at the next successful login.
type Hasher struct {
	Memory  uint32 // memory in KiB; default DefaultMemory
	Time    uint32 // passes over the memory; default DefaultTime
	Threads uint8  // lanes; default DefaultThreads
	SaltLen uint32 // salt bytes; default DefaultSaltLen
	KeyLen  uint32 // hash bytes; default DefaultKeyLen
}

// params is a Hasher with its defaults applied, or a hash's parameters.
type params struct {
	memory, time    uint32
	threads         uint8
	saltLen, keyLen uint32
}

func (h Hasher) params() params {
	p := params{memory: h.Memory, time: h.Time, threads: h.Threads, saltLen: h.SaltLen, keyLen: h.KeyLen}
	if p.memory == 0 {
		p.memory = DefaultMemory
	}
	if p.time == 0 {
		p.time = DefaultTime
	}
	if p.threads == 0 {
		p.threads = DefaultThreads
	}
	if p.saltLen == 0 {
		p.saltLen = DefaultSaltLen
	}
	if p.keyLen == 0 {
		p.keyLen = DefaultKeyLen
	}
	return p
}

func (p params) check() error {
	switch {
	case p.memory < 8*uint32(p.threads) || p.memory > maxMemory:
		return fmt.Errorf("memory %d KiB out of range [8×threads, %d]", p.memory, maxMemory)
	case p.time < 1 || p.time > maxTime:
		return fmt.Errorf("time %d out of range [1, %d]", p.time, maxTime)
	case p.threads < 1:
		return errors.New("threads must be at least 1")
	case p.saltLen < 8 || p.saltLen > maxByteLen:
		return fmt.Errorf("salt length %d out of range [8, %d]", p.saltLen, maxByteLen)
	case p.keyLen < 16 || p.keyLen > maxByteLen:
		return fmt.Errorf("hash length %d out of range [16, %d]", p.keyLen, maxByteLen)
	}
	return nil
}

// Hash returns the PHC string of password with a fresh random salt.
func (h Hasher) Hash(password string) (string, error) {
	p := h.params()
	if err := p.check(); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	salt := make([]byte, p.saltLen)
	_, _ = rand.Read(salt) // never fails
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether password matches hash, comparing in constant time.
// A wrong password is (false, nil); a hash it cannot read is an error
// wrapping ErrMalformedHash. Check uses the parameters recorded in hash,
// not h's.
func (h Hasher) Check(hash, password string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than
// h's, or cannot be read: after a successful Check, store a new Hash.
func (h Hasher) NeedsRehash(hash string) bool {
	p, _, _, err := parseHash(hash)
	return err != nil || p != h.params()
}

// HashPassword is Hasher{}.Hash: argon2id with the default parameters.
func HashPassword(password string) (string, error) { return Hasher{}.Hash(password) }

// CheckPassword is Hasher{}.Check.
func CheckPassword(hash, password string) (bool, error) { return Hasher{}.Check(hash, password) }

// NeedsRehash is Hasher{}.NeedsRehash: whether hash was made with other
// than the default parameters.
func NeedsRehash(hash string) bool { return Hasher{}.NeedsRehash(hash) }

// parseHash reads "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func parseHash(s string) (p params, salt, key []byte, err error) {
	fail := func(why string) (params, []byte, []byte, error) {
		return params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm " + strconv.Quote(parts[1]) + ", want argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("version " + strconv.Quote(parts[2]))
	}
	var m, t, threads uint64
	for i, f := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(f, "=")
		want := [...]string{"m", "t", "p"}
		if !ok || i >= len(want) || name != want[i] {
			return fail("parameters " + strconv.Quote(parts[3]))
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(val, 10, bits)
		if err != nil {
			return fail("parameter " + name)
		}
		switch name {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			threads = n
		}
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return fail("salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return fail("hash")
	}
	p = params{memory: uint32(m), time: uint32(t), threads: uint8(threads), saltLen: uint32(len(salt)), keyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return fail(err.Error())
	}
	return p, salt, key, nil
}
