package password

import (
	"strings"
	"testing"
)

// fast keeps the tests quick; Default is checked separately.
var fast = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	h, err := Hash("correct horse", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding %q", h)
	}
	for _, c := range []struct {
		name, pw string
		ok       bool
	}{{"the right password verifies", "correct horse", true}, {"a wrong one does not", "correct horsE", false}, {"nor an empty one", "", false}} {
		t.Run(c.name, func(t *testing.T) {
			ok, _, err := Verify(c.pw, h, fast)
			if err != nil || ok != c.ok {
				t.Fatalf("Verify = %v %v", ok, err)
			}
		})
	}
	t.Run("a hash made with weaker parameters asks to be re-hashed", func(t *testing.T) {
		_, rehash, _ := Verify("correct horse", h, Default)
		if !rehash {
			t.Fatal("no rehash asked")
		}
	})
	t.Run("two hashes of one password differ by their salt", func(t *testing.T) {
		h2, _ := Hash("correct horse", fast)
		if h2 == h {
			t.Fatal("same hash twice")
		}
	})
}

func TestDefaultMeetsOWASP(t *testing.T) {
	t.Parallel()
	if Default.MemoryKiB < 19*1024 || Default.Time < 2 || Default.Threads < 1 {
		t.Fatalf("Default %+v is below OWASP's argon2id minimum", Default)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ",
	} {
		if _, _, err := Verify("x", h, fast); err == nil {
			t.Errorf("Verify accepted %q", h)
		}
	}
}

func TestCommon(t *testing.T) {
	t.Parallel()
	for pw, want := range map[string]bool{
		"password": true, "Password123!": true, "AZERTYUIOP": true, "wachtwoord2026": true, "motdepasse": true,
		"correct horse battery staple": false, "Xk9#mP2$vL": false, "1234": false, "test": true,
	} {
		if got := Common(pw); got != want {
			t.Errorf("Common(%q) = %v, want %v", pw, got, want)
		}
	}
}
