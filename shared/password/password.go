// Package password hashes and verifies passwords with argon2id, encoded as
// PHC strings that carry their parameters, so the parameters can be raised
// later and old hashes still verify (and are flagged for re-hashing).
// Hashes imported from other systems (bcrypt, scrypt) verify too, and are
// always flagged for re-hashing to argon2id.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/argon2"

	"github.com/guichet/guichet/shared/validate"
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

// Cheap are parameters for tests only: a hash in microseconds. A
// deployment never uses them (config refuses PASSWORD_HASH below Default).
var Cheap = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// ParseParams reads parameters written as in a PHC string, "m=19456,t=2,p=1".
func ParseParams(s string) (Params, error) {
	p := Default
	if _, err := fmt.Sscanf(s, "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, fmt.Errorf("password: want m=<KiB>,t=<passes>,p=<threads>, got %q", s)
	}
	return p, nil
}

// Weaker reports whether p is below q in memory, passes or threads.
func (p Params) Weaker(q Params) bool {
	return p.MemoryKiB < q.MemoryKiB || p.Time < q.Time || p.Threads < q.Threads
}

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

// Verify reports whether pw matches encoded, and whether encoded should be
// replaced by a new hash under p: it is not argon2id (an imported bcrypt or
// scrypt hash), or uses weaker argon2id parameters than p.
func Verify(pw, encoded string, p Params) (ok, rehash bool, err error) {
	switch Scheme(encoded) {
	case Bcrypt:
		ok, err = verifyBcrypt(pw, encoded)
		return ok, true, err
	case Scrypt:
		ok, err = verifyScrypt(pw, encoded)
		return ok, true, err
	}
	got, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(pw), got.salt, got.Time, got.MemoryKiB, got.Threads, uint32(len(got.key)))
	ok = subtle.ConstantTimeCompare(key, got.key) == 1
	rehash = got.Params.Weaker(p)
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

// Generate returns a random password of n characters from an alphabet
// without look-alike characters.
func Generate(n int) (string, error) {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[x.Int64()]
	}
	return string(b), nil
}

var pinPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{6}$`) })

// TrivialPIN reports whether a PIN of digits is one digit repeated
// (000000), a run going up or down by one (123456, 654321) or two digits
// alternating (121212).
func TrivialPIN(pin string) bool {
	if len(pin) < 2 {
		return true
	}
	same, up, down, pair := true, true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
		pair = pair && (i < 2 || pin[i] == pin[i-2])
	}
	return same || up || down || pair
}

// Check applies the password rules: a 6-digit PIN for username
// users, otherwise at least 10 characters; never the login itself.
func Check(v *validate.Errors, field, pw, login string, pin bool) {
	if pin {
		switch {
		case !pinPattern().MatchString(pw):
			v.Add(field, "must be a 6-digit PIN")
		case TrivialPIN(pw) || Common(pw):
			v.Add(field, "is too easy to guess: no repeated digit, no run such as 123456 or 654321")
		}
		return
	}
	if len([]rune(pw)) < 10 || len(pw) > 1024 {
		v.Add(field, "must be 10 to 1024 characters")
		return
	}
	if strings.EqualFold(pw, login) || strings.EqualFold(pw, strings.SplitN(login, "@", 2)[0]) {
		v.Add(field, "must not be the login")
		return
	}
	if Common(pw) {
		v.Add(field, "is too common; choose a less guessable password")
	}
}

//go:embed common.txt
var commonList string

// Common reports whether pw is on the shipped list of common passwords,
// as is or without trailing digits and punctuation ("Password123!").
func Common(pw string) bool {
	lower := strings.ToLower(pw)
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	for _, line := range strings.Split(commonList, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if line == lower || (len(stem) >= 4 && line == stem) {
			return true
		}
	}
	return false
}
