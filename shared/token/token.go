// Package token makes and parses the secrets Guichet hands out: session and
// refresh tokens, API keys, and one-time link tokens. Each is 32 random
// bytes behind a prefix naming its kind; only its SHA-256 is ever stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kind is the prefix of a secret, naming what it is for.
type Kind string

// Kinds of secrets.
const (
	Access      Kind = "gsn_"
	Refresh     Kind = "grf_"
	APIKey      Kind = "gky_"
	Invite      Kind = "giv_"
	Reset       Kind = "grs_"
	EmailChange Kind = "gem_"
	Challenge   Kind = "gch_"
)

var kinds = [...]Kind{Access, Refresh, APIKey, Invite, Reset, EmailChange, Challenge}

const (
	secretBytes = 32
	encodedLen  = 43 // base64url, no padding, of 32 bytes
)

// New returns a fresh secret of the given kind and its hash.
func New(k Kind) (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("token: random: %w", err)
	}
	secret = string(k) + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret), nil
}

// NewID returns 32 random bytes, base64url: the jti of a JWT access
// token, whose Hash keys its credential as a secret's does.
func NewID() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the hex SHA-256 of a secret: the only form that is stored.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Parse checks that s is well formed and of one of the wanted kinds, and
// returns its kind and hash. It says nothing of whether the secret is known.
func Parse(s string, want ...Kind) (Kind, string, bool) {
	if len(s) != 4+encodedLen {
		return "", "", false
	}
	k := Kind(s[:4])
	known := false
	for _, x := range kinds {
		known = known || x == k
	}
	if !known {
		return "", "", false
	}
	if len(want) > 0 {
		ok := false
		for _, w := range want {
			ok = ok || w == k
		}
		if !ok {
			return "", "", false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s[4:])
	if err != nil || len(b) != secretBytes {
		return "", "", false
	}
	return k, Hash(s), true
}

// Bearer returns the token of an "Authorization: Bearer <token>" header.
func Bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Prefix is the first characters of a secret, safe to show to identify it.
func Prefix(secret string) string {
	if len(secret) < 12 {
		return secret
	}
	return secret[:12]
}
