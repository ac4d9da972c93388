package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of the key secrets are sealed with (AES-256).
const KeySize = 32

// Sealer encrypts TOTP secrets with AES-256-GCM, so that the table never
// holds them in clear. The user id is the additional data: a sealed
// secret copied onto another user does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a sealer of a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("mfa: the encryption key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// sealPrefix versions the sealed form, should the key or cipher change.
const sealPrefix = "v1."

// Seal encrypts secret for user.
func (s *Sealer) Seal(user, secret string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("mfa: random: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(user))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// ErrUnsealable is a sealed secret that does not open: another key, another
// user, or a damaged value.
var ErrUnsealable = errors.New("mfa: sealed secret does not open")

// Open decrypts a secret sealed for user.
func (s *Sealer) Open(user, sealed string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", ErrUnsealable
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", ErrUnsealable
	}
	n := s.aead.NonceSize()
	out, err := s.aead.Open(nil, b[:n], b[n:], []byte(user))
	if err != nil {
		return "", ErrUnsealable
	}
	return string(out), nil
}

// NewKey returns a random key, for local stacks and tests.
func NewKey() []byte {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("mfa: random: %v", err)) // crypto/rand does not fail on supported systems
	}
	return b
}
