package token

import (
	"strings"
	"testing"
)

func TestNewAndParse(t *testing.T) {
	t.Parallel()
	s, h, err := New(APIKey)
	if err != nil {
		t.Fatal(err)
	}
	k, h2, ok := Parse(s, APIKey)
	if !ok || k != APIKey || h2 != h || len(h) != 64 {
		t.Fatalf("Parse(%q) = %q %q %v", s, k, h2, ok)
	}
	if _, _, ok := Parse(s, Access); ok {
		t.Fatal("a key parsed as an access token")
	}
	if s2, _, _ := New(APIKey); s2 == s {
		t.Fatal("two secrets are equal")
	}
}

func TestParseRefusesMalformedSecrets(t *testing.T) {
	t.Parallel()
	good, _, _ := New(Access)
	for _, c := range []struct{ name, s string }{
		{"empty", ""},
		{"an unknown prefix", "gxx_" + good[4:]},
		{"a truncated secret", good[:30]},
		{"a secret too long", good + "A"},
		{"padding", good[:len(good)-1] + "="},
		{"a character outside base64url", good[:len(good)-1] + "+"},
		{"non-canonical trailing bits", good[:len(good)-1] + strings.ToUpper("b")},
	} {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			if c.name == "non-canonical trailing bits" {
				// Only some last characters are non-canonical; find one.
				for _, ch := range "BCDEFGHIJKLMNOP" {
					if _, _, ok := Parse(good[:len(good)-1]+string(ch), Access); !ok {
						return
					}
				}
				t.Fatal("strict decoding accepted every last character")
			}
			if _, _, ok := Parse(c.s); ok {
				t.Fatalf("Parse(%q) accepted", c.s)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"Bearer  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"abc", "", false},
	} {
		got, ok := Bearer(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Bearer(%q) = %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _, _ := New(Refresh)
	for _, s := range []string{"", good, good[:20], "gsn_" + strings.Repeat("A", 43), "grf_" + strings.Repeat("/", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, h, ok := Parse(s)
		if !ok {
			return
		}
		if !strings.HasPrefix(s, string(k)) || h != Hash(s) || len(s) != 47 {
			t.Fatalf("Parse(%q) = %q %q", s, k, h)
		}
	})
}
