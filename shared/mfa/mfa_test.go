package mfa_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/mfa"
)

func TestSealedSecretsOpenOnlyForTheirUserAndKey(t *testing.T) {
	t.Parallel()
	s, err := mfa.NewSealer(mfa.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("usr_a", "JBSWY3DPEHPK3PXP")
	if err != nil || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("%q %v", sealed, err)
	}
	if got, err := s.Open("usr_a", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := s.Open("usr_b", sealed); err == nil {
		t.Fatal("opened for another user")
	}
	other, _ := mfa.NewSealer(mfa.NewKey())
	if _, err := other.Open("usr_a", sealed); err == nil {
		t.Fatal("opened with another key")
	}
	again, _ := s.Seal("usr_a", "JBSWY3DPEHPK3PXP")
	if again == sealed {
		t.Fatal("sealing is deterministic: nonce reused")
	}
	if _, err := mfa.NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was taken")
	}
}

func TestCodesMatchAnIndependentImplementation(t *testing.T) {
	t.Parallel()
	st, err := mfa.NewSetup("ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ref := gotp.NewDefaultTOTP(st.Secret)
	now := time.Unix(1_800_000_015, 0)
	for _, c := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"the current step", now, true},
		{"the previous step (clock drift)", now.Add(-30 * time.Second), true},
		{"the next step", now.Add(30 * time.Second), true},
		{"two steps ago", now.Add(-60 * time.Second), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			step, ok := mfa.Match(st.Secret, ref.At(c.at.Unix()), now)
			if ok != c.ok || (ok && step != mfa.Step(c.at)) {
				t.Fatalf("step %d ok %v", step, ok)
			}
		})
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes, err := mfa.NewRecoveryCodes(10)
	if err != nil || len(codes) != 10 {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !mfa.IsRecovery(c) || mfa.IsTOTP(c) || seen[c] || len(c) != 11 {
			t.Fatalf("%q", c)
		}
		seen[c] = true
	}
	c := codes[0]
	if mfa.RecoveryHash("usr_a", c) != mfa.RecoveryHash("usr_a", strings.ToUpper(strings.ReplaceAll(c, "-", " "))) {
		t.Fatal("typing variants do not match")
	}
	if mfa.RecoveryHash("usr_a", c) == mfa.RecoveryHash("usr_b", c) {
		t.Fatal("hash does not depend on the user")
	}
}

func TestTheEncryptionKeyComesFromConfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, value string
		ok          bool
	}{
		{"base64 of 32 bytes", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true},
		{"unpadded", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", true},
		{"43 generated alphanumerics (how the CDK stack makes it)", "Zx9QmR2vLp7TnWk4YbHc8JdFs3GaUe6XoKi1VrMtN5q", true},
		{"16 bytes", "AAECAwQFBgcICQoLDA0ODw==", false},
		{"not base64", "this is not a key", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse(func(k string) string {
				if k == "MFA_ENCRYPTION_KEY" {
					return c.value
				}
				return ""
			})
			if c.ok != (err == nil) || (c.ok && len(cfg.MFAKey) != 32) {
				t.Fatalf("err %v key %d bytes", err, len(cfg.MFAKey))
			}
		})
	}
}
