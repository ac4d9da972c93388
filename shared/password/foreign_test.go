package password

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// htpasswd reads the bcrypt hash Debian's htpasswd made (users' testdata).
func htpasswd(t *testing.T) (pw, hash string) {
	t.Helper()
	raw, err := os.ReadFile("../users/testdata/htpasswd-bcrypt.txt")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	_, hash, _ = strings.Cut(lines[1], ":")
	return lines[0], hash
}

func scryptHashOf(t *testing.T, pw string, salt []byte, ln, r, p int) string {
	t.Helper()
	key, err := scrypt.Key([]byte(pw), salt, 1<<ln, r, p, 32)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestForeignHashes(t *testing.T) {
	t.Parallel()
	htpw, ht := htpasswd(t)
	gobc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-password-1"), 4)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, pw, hash, scheme string
	}{
		{"a $2y$ hash from htpasswd verifies", htpw, ht, Bcrypt},
		{"a $2a$ hash from Go's bcrypt verifies", "bcrypt-password-1", string(gobc), Bcrypt},
		{"an scrypt hash in passlib's format verifies", "scrypt-password-1", scryptHashOf(t, "scrypt-password-1", []byte("0123456789abcdef"), 10, 8, 1), Scrypt},
		// passlib's documented example (passlib.hash.scrypt), for "password".
		{"passlib's own scrypt example verifies", "password", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", Scrypt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if s := Scheme(c.hash); s != c.scheme {
				t.Fatalf("scheme %q", s)
			}
			if err := CheckHash(c.hash); err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := Verify(c.pw, c.hash, Default)
			if err != nil || !ok || !rehash {
				t.Fatalf("Verify = %v %v %v", ok, rehash, err)
			}
			if ok, _, err := Verify(c.pw+"x", c.hash, Default); err != nil || ok {
				t.Fatalf("a wrong password: %v %v", ok, err)
			}
		})
	}
	t.Run("an argon2id hash at the current parameters is not re-hashed", func(t *testing.T) {
		h, _ := Hash("argon-password-1", fast)
		if err := CheckHash(h); err != nil {
			t.Fatal(err)
		}
		if ok, rehash, _ := Verify("argon-password-1", h, fast); !ok || rehash {
			t.Fatal(ok, rehash)
		}
	})
	for _, bad := range []string{
		"", "plain text", "$1$salt$md5crypt", "$5$rounds=5000$sha256crypt",
		"$2y$10$short", "$2y$99$zZvb7YZ1gtBWjTk70TCbI.I8fYfOxqUY./b6eoLwp9.d2oSN/cIiK",
		"$2y$15$zZvb7YZ1gtBWjTk70TCbI.I8fYfOxqUY./b6eoLwp9.d2oSN/cIiK",
		"$scrypt$ln=16,r=8$c2FsdA$a2V5", "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$scrypt$ln=10,r=8,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2i$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		t.Run(fmt.Sprintf("%q is refused as an import", bad), func(t *testing.T) {
			if CheckHash(bad) == nil {
				t.Fatal("accepted")
			}
		})
	}
}
