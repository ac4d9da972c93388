// Package mfa holds the rules of two-step verification: TOTP (RFC 6238)
// authenticators whose secrets are sealed with AES-256-GCM, single-use
// recovery codes, and the rate limit on wrong codes. The profile function
// (enrollment by a signed-in user) and the auth function (the login step,
// enrollment required by the organization) both use it.
package mfa

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app supports.
const (
	Period = 30 // seconds per time step
	Digits = 6
	// Skew is how many steps before and after the current one are
	// accepted, for clocks that drift and users who type slowly.
	Skew = 1
	// Issuer names the service in authenticator apps.
	Issuer = "Guichet"
	// RecoveryCodes is how many recovery codes an enrollment issues.
	RecoveryCodes = 10
)

var opts = totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Setup is what an authenticator app needs: the secret, its otpauth URI,
// and the URI as a QR code.
type Setup struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// NewSetup returns a fresh 160-bit secret for account (the login name).
func NewSetup(account string) (Setup, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: Period,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return Setup{}, fmt.Errorf("mfa: new secret: %w", err)
	}
	img, err := k.Image(256, 256)
	if err != nil {
		return Setup{}, fmt.Errorf("mfa: qr code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return Setup{}, fmt.Errorf("mfa: qr code: %w", err)
	}
	return Setup{Secret: k.Secret(), URI: k.URL(), QRPNG: b.Bytes()}, nil
}

// Step is the time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// IsTOTP reports whether code has the form of a TOTP code (six digits).
func IsTOTP(code string) bool {
	code = strings.TrimSpace(code)
	if len(code) != Digits {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Match returns the time step, within Skew of now, whose code is code.
func Match(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	cur := Step(now)
	for step := cur - Skew; step <= cur+Skew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*Period, 0), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// recoveryAlphabet leaves out letters and digits people confuse (0/o, 1/l/i).
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewRecoveryCodes returns n codes of ten characters (about 49 bits each),
// shown as "xxxxx-xxxxx".
func NewRecoveryCodes(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("mfa: random: %w", err)
		}
		var s strings.Builder
		for j, x := range b {
			if j == 5 {
				s.WriteByte('-')
			}
			// 256 % 31 leaves a bias of under 1% per character; the codes
			// stay far out of reach of guessing behind the rate limit.
			s.WriteByte(recoveryAlphabet[int(x)%len(recoveryAlphabet)])
		}
		out[i] = s.String()
	}
	return out, nil
}

// normalizeRecovery is a recovery code as typed, without case, spaces or
// dashes.
func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// IsRecovery reports whether code has the form of a recovery code.
func IsRecovery(code string) bool {
	c := normalizeRecovery(code)
	if len(c) != 10 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return false
		}
	}
	return true
}

// RecoveryHash is the stored form of a user's recovery code: SHA-256 of
// the user and the code, so equal codes of two users never share an item.
// A fast hash suffices: the codes are random and the rate limit bounds
// guessing.
func RecoveryHash(user, code string) string {
	sum := sha256.Sum256([]byte(user + ":" + normalizeRecovery(code)))
	return hex.EncodeToString(sum[:])
}

// TOTPSetup is the answer describing a new authenticator secret.
type TOTPSetup struct {
	Secret string `json:"secret" doc:"The base32 secret, for typing into the app"`
	URI    string `json:"otpauth_uri" doc:"otpauth://totp/… URI (issuer Guichet, account = login name)"`
	QRPNG  []byte `json:"qr_png" doc:"The URI as a QR code: a PNG image, base64"`
	Digits int    `json:"digits"`
	Period int    `json:"period" doc:"Seconds per code"`
}

// SetupView is the answer of a setup.
func SetupView(st Setup) TOTPSetup {
	return TOTPSetup{Secret: st.Secret, URI: st.URI, QRPNG: st.QRPNG, Digits: Digits, Period: Period}
}
