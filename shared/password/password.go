// Package password hashes and verifies passwords with argon2id, encoded as
// PHC strings that carry their parameters, so the parameters can be raised
// later and old hashes still verify (and are flagged for re-hashing).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// Default is at least OWASP's recommendation for argon2id (19 MiB, t=2, p=1).
var Default = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed is returned for an encoded hash that cannot be read.
var ErrMalformed = errors.New("password: malformed hash")

// Hash returns the PHC encoding of pw's argon2id hash under p.
func Hash(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches encoded, and whether encoded uses
// weaker parameters than p and should be replaced by a new hash.
func Verify(pw, encoded string, p Params) (ok, rehash bool, err error) {
	got, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(pw), got.salt, got.Time, got.MemoryKiB, got.Threads, uint32(len(got.key)))
	ok = subtle.ConstantTimeCompare(key, got.key) == 1
	rehash = got.MemoryKiB < p.MemoryKiB || got.Time < p.Time || got.Threads < p.Threads
	return ok, rehash, nil
}

// Waste spends the time of one verification and returns nothing, so that an
// unknown login costs the same as a wrong password.
func Waste(pw string, p Params) {
	argon2.IDKey([]byte(pw), make([]byte, p.SaltLen), p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

type decoded struct {
	Params
	salt, key []byte
}

func decode(s string) (decoded, error) {
	var d decoded
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return d, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return d, ErrMalformed
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &d.MemoryKiB, &d.Time, &d.Threads); err != nil {
		return d, ErrMalformed
	}
	if d.MemoryKiB == 0 || d.Time == 0 || d.Threads == 0 {
		return d, ErrMalformed
	}
	var err error
	if d.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(d.salt) == 0 {
		return d, ErrMalformed
	}
	if d.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(d.key) < 16 {
		return d, ErrMalformed
	}
	return d, nil
}
