package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Schemes of the hashes Verify reads.
const (
	Argon2id = "argon2id"
	// Bcrypt is the modular crypt format $2a$, $2b$ or $2y$ (htpasswd -B,
	// PHP's password_hash, most frameworks).
	Bcrypt = "bcrypt"
	// Scrypt is the PHC-like format passlib writes:
	// $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<key b64>.
	Scrypt = "scrypt"
)

// Scheme names the scheme of an encoded hash by its prefix, or returns ""
// for none it knows. It does not check the rest of the hash: see Check.
func Scheme(encoded string) string {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return Argon2id
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return Bcrypt
	case strings.HasPrefix(encoded, "$scrypt$"):
		return Scrypt
	}
	return ""
}

// Limits on imported hashes: a hash is verified at every login until it is
// replaced, so parameters beyond these would let an import make logins
// slow or exhaust a function's memory.
const (
	maxBcryptCost   = 14
	maxArgonMemKiB  = 256 << 10
	maxArgonTime    = 16
	maxScryptMemory = 256 << 20 // 128·N·r bytes
	maxScryptP      = 16
)

// ErrUnsupported is returned for a hash of no scheme Guichet reads.
var ErrUnsupported = errors.New("password: not an argon2id, bcrypt or scrypt hash")

// CheckHash reports whether encoded is a well-formed hash that Verify reads,
// with parameters within Guichet's limits, such as a hash being imported.
// It does not verify any password.
func CheckHash(encoded string) error {
	switch Scheme(encoded) {
	case Argon2id:
		d, err := decode(encoded)
		if err != nil {
			return err
		}
		if d.MemoryKiB > maxArgonMemKiB || d.Time > maxArgonTime || d.Threads > 16 || len(d.key) > 64 || len(d.salt) > 64 {
			return fmt.Errorf("password: argon2id parameters beyond m=%d,t=%d,p=16", maxArgonMemKiB, maxArgonTime)
		}
		return nil
	case Bcrypt:
		if len(encoded) != 60 {
			return ErrMalformed
		}
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return ErrMalformed
		}
		if cost > maxBcryptCost {
			return fmt.Errorf("password: bcrypt cost %d above %d", cost, maxBcryptCost)
		}
		return nil
	case Scrypt:
		_, err := decodeScrypt(encoded)
		return err
	}
	return ErrUnsupported
}

func verifyBcrypt(pw, encoded string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, ErrMalformed
}

type scryptHash struct {
	n, r, p   int
	salt, key []byte
}

// decodeScrypt reads passlib's scrypt format. passlib writes standard
// base64 without padding; its "adapted" alphabet ('.' for '+') and padding
// are accepted too.
func decodeScrypt(s string) (scryptHash, error) {
	var h scryptHash
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return h, ErrMalformed
	}
	var ln int
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &ln, &h.r, &h.p); err != nil ||
		fmt.Sprintf("ln=%d,r=%d,p=%d", ln, h.r, h.p) != parts[2] {
		return h, ErrMalformed
	}
	if ln < 1 || ln > 24 || h.r < 1 || h.r > 64 || h.p < 1 || h.p > maxScryptP {
		return h, ErrMalformed
	}
	h.n = 1 << ln
	if 128*h.n*h.r > maxScryptMemory {
		return h, fmt.Errorf("password: scrypt parameters need more than %d MiB", maxScryptMemory>>20)
	}
	b64 := func(x string) ([]byte, error) {
		return base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.ReplaceAll(x, ".", "+"), "="))
	}
	var err error
	if h.salt, err = b64(parts[3]); err != nil || len(h.salt) == 0 || len(h.salt) > 1024 {
		return h, ErrMalformed
	}
	if h.key, err = b64(parts[4]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return h, ErrMalformed
	}
	return h, nil
}

func verifyScrypt(pw, encoded string) (bool, error) {
	h, err := decodeScrypt(encoded)
	if err != nil {
		return false, err
	}
	key, err := scrypt.Key([]byte(pw), h.salt, h.n, h.r, h.p, len(h.key))
	if err != nil {
		return false, ErrMalformed
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}
