package auth_test

import (
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// fast are small argon2id parameters, so that tests run quickly under the
// race detector.
var fast = auth.Hasher{Memory: 64, Time: 1, Threads: 1}

func TestAuthPasswordHash(t *testing.T) {
	t.Parallel()
	hash, err := fast.Hash("correct horse battery staple")
	testutil.Success(t, err)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("Hash() = %q, want an argon2id PHC string with m=64,t=1,p=1", hash)
	}
	parts := strings.Split(hash, "$")
	testutil.Equal(t, "salt length (base64)", len(parts[4]), 22)
	testutil.Equal(t, "hash length (base64)", len(parts[5]), 43)

	again, err := fast.Hash("correct horse battery staple")
	testutil.Success(t, err)
	if again == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{name: "right", password: "correct horse battery staple", want: true},
		{name: "wrong", password: "correct horse battery stapler"},
		{name: "empty", password: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := auth.CheckPassword(hash, tt.password)
			testutil.Success(t, err)
			testutil.Equal(t, "CheckPassword()", ok, tt.want)
		})
	}
}

func TestAuthPasswordDefaults(t *testing.T) {
	t.Parallel()
	hash, err := auth.HashPassword("hunter2")
	testutil.Success(t, err)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("HashPassword() = %q, want m=19456,t=2,p=1", hash)
	}
	ok, err := auth.CheckPassword(hash, "hunter2")
	testutil.Success(t, err)
	testutil.Equal(t, "CheckPassword()", ok, true)
	testutil.Equal(t, "NeedsRehash(default hash)", auth.NeedsRehash(hash), false)
}

func TestAuthPasswordNeedsRehash(t *testing.T) {
	t.Parallel()
	old, err := fast.Hash("pw")
	testutil.Success(t, err)
	tests := []struct {
		name   string
		hasher auth.Hasher
		hash   string
		want   bool
	}{
		{name: "same parameters", hasher: fast, hash: old},
		{name: "more memory", hasher: auth.Hasher{Memory: 128, Time: 1}, hash: old, want: true},
		{name: "more time", hasher: auth.Hasher{Memory: 64, Time: 2}, hash: old, want: true},
		{name: "longer key", hasher: auth.Hasher{Memory: 64, Time: 1, KeyLen: 64}, hash: old, want: true},
		{name: "defaults", hasher: auth.Hasher{}, hash: old, want: true},
		{name: "malformed", hasher: fast, hash: "$2a$10$bcrypt", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "NeedsRehash()", tt.hasher.NeedsRehash(tt.hash), tt.want)
		})
	}
	// Check reads the parameters from the hash, not from the Hasher.
	ok, err := auth.Hasher{Memory: 1024, Time: 3}.Check(old, "pw")
	testutil.Success(t, err)
	testutil.Equal(t, "Check() with other parameters", ok, true)
}

func TestAuthPasswordMalformed(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	tests := []struct {
		name, hash string
	}{
		{name: "empty"},
		{name: "bcrypt", hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "argon2i", hash: "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{name: "old version", hash: "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{name: "parameters out of order", hash: "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{name: "missing parameter", hash: "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{name: "zero time", hash: "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{name: "huge memory", hash: "$argon2id$v=19$m=4000000000,t=1,p=1$" + salt + "$" + key},
		{name: "padded salt", hash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{name: "short salt", hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key},
		{name: "short hash", hash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA"},
		{name: "extra field", hash: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := auth.CheckPassword(tt.hash, "pw")
			testutil.ErrorIs(t, err, auth.ErrMalformedHash)
			testutil.Equal(t, "CheckPassword()", ok, false)
		})
	}
}

func TestAuthPasswordBadHasher(t *testing.T) {
	t.Parallel()
	for _, h := range []auth.Hasher{{Memory: 4}, {SaltLen: 4}, {KeyLen: 8}, {Time: 1000}} {
		_, err := h.Hash("pw")
		testutil.Error(t, err)
	}
}

// TestAuthPasswordReferenceVector checks a hash made by the reference C
// implementation (P-H-C/phc-winner-argon2):
//
//	echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
func TestAuthPasswordReferenceVector(t *testing.T) {
	t.Parallel()
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	ok, err := auth.CheckPassword(ref, "password")
	testutil.Success(t, err)
	testutil.Equal(t, "CheckPassword(reference, password)", ok, true)
	ok, err = auth.CheckPassword(ref, "Password")
	testutil.Success(t, err)
	testutil.Equal(t, "CheckPassword(reference, Password)", ok, false)
	testutil.Equal(t, "NeedsRehash(reference)", auth.NeedsRehash(ref), true)
}
