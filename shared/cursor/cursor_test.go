package cursor_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/problem"
)

func raw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestACursorRoundTrips(t *testing.T) {
	t.Parallel()
	for _, sk := range []string{"UNIT#unt_abc", "UNIT#é#€", "2026-01-02T03:04:05.000000000Z#aud_x"} {
		t.Run("the sort key "+sk+" comes back as it went", func(t *testing.T) {
			prefix := ""
			if strings.HasPrefix(sk, "UNIT#") {
				prefix = "UNIT#"
			}
			c := cursor.Encode("org_a", "units", sk)
			if strings.ContainsAny(c, "+/=") {
				t.Fatalf("cursor %q is not URL-safe", c)
			}
			got, err := cursor.DecodePrefix("org_a", "units", prefix, c)
			if err != nil || got != sk {
				t.Fatalf("Decode = %q, %v; want %q", got, err, sk)
			}
		})
	}
	t.Run("the last page has the empty cursor, and the empty cursor is the first page", func(t *testing.T) {
		if c := cursor.Encode("org_a", "units", ""); c != "" {
			t.Fatalf("Encode of no key = %q", c)
		}
		if sk, err := cursor.DecodePrefix("org_a", "units", "UNIT#", ""); sk != "" || err != nil {
			t.Fatalf("Decode(\"\") = %q, %v", sk, err)
		}
	})
}

func TestDecodeRefusesCursorsNotMadeForTheList(t *testing.T) {
	t.Parallel()
	good := cursor.Encode("org_a", "units", "UNIT#unt_1")
	cases := []struct {
		name, org, list, prefix, cursor string
	}{
		{"a cursor of another organization", "org_b", "units", "UNIT#", good},
		{"a cursor of another list", "org_a", "users", "UNIT#", good},
		{"a key outside the list's range", "org_a", "units", "UNIT#", cursor.Encode("org_a", "units", "USER#usr_1")},
		{"a key that is only the prefix", "org_a", "units", "UNIT#", cursor.Encode("org_a", "units", "UNIT#")},
		{"a key with control characters", "org_a", "units", "UNIT#", cursor.Encode("org_a", "units", "UNIT#a\x00b")},
		{"a key too long", "org_a", "units", "UNIT#", cursor.Encode("org_a", "units", "UNIT#"+strings.Repeat("a", 600))},
		{"something that is not base64url", "org_a", "units", "UNIT#", "not a cursor!"},
		{"padded base64", "org_a", "units", "UNIT#", base64.URLEncoding.EncodeToString([]byte(`{"o":"org_a","l":"units","k":"UNIT#x"}`))},
		{"standard base64 with + or /", "org_a", "units", "UNIT#", strings.ReplaceAll(strings.ReplaceAll(good, "-", "+"), "_", "/") + "+/"},
		{"base64 of something that is not JSON", "org_a", "units", "UNIT#", raw("UNIT#unt_1")},
		{"JSON with an unknown field", "org_a", "units", "UNIT#", raw(`{"o":"org_a","l":"units","k":"UNIT#x","pk":"ORG#org_b"}`)},
		{"JSON followed by more JSON", "org_a", "units", "UNIT#", raw(`{"o":"org_a","l":"units","k":"UNIT#x"}{}`)},
		{"JSON with fields of the wrong type", "org_a", "units", "UNIT#", raw(`{"o":1,"l":"units","k":"UNIT#x"}`)},
		{"JSON without a key", "org_a", "units", "", raw(`{"o":"org_a","l":"units"}`)},
		{"a JSON array", "org_a", "units", "UNIT#", raw(`["org_a","units","UNIT#x"]`)},
		{"a cursor longer than MaxLen", "org_a", "units", "UNIT#", strings.Repeat("A", cursor.MaxLen+1)},
	}
	for _, c := range cases {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			sk, err := cursor.DecodePrefix(c.org, c.list, c.prefix, c.cursor)
			p, ok := problem.As(err)
			if !ok || p.Status != 400 || p.Code != "invalid_cursor" {
				t.Fatalf("Decode = %q, %v; want a 400 invalid_cursor problem", sk, err)
			}
			if sk != "" {
				t.Fatalf("a refused cursor gave the key %q", sk)
			}
		})
	}
}

func TestDecodeWithoutPrefixAcceptsAnyNonEmptyKey(t *testing.T) {
	t.Parallel()
	c := cursor.Encode("org_a", "audit", "2026-01-02T03:04:05.000000000Z#aud_1")
	if sk, err := cursor.Decode("org_a", "audit", c); err != nil || sk != "2026-01-02T03:04:05.000000000Z#aud_1" {
		t.Fatalf("Decode = %q, %v", sk, err)
	}
	if _, err := cursor.Decode("org_b", "audit", c); err == nil {
		t.Fatal("Decode accepted the cursor for another organization")
	}
	if _, err := cursor.Decode("org_a", "audit", raw(`{"o":"org_a","l":"audit","k":""}`)); err == nil {
		t.Fatal("Decode accepted an empty key")
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		cursor.Encode("org_a", "units", "UNIT#unt_1"),
		cursor.Encode("org_b", "units", "UNIT#unt_1"),
		cursor.Encode("org_a", "audit", "2026-01-02T03:04:05.000000000Z#aud_1"),
		raw(`{"o":"org_a","l":"units","k":"UNIT#x","k":"USER#y"}`),
		raw(`{"o":"org_a","l":"units","k":"UNIT#\u0000"}`),
		"", "=", "eyJ9", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		sk, err := cursor.DecodePrefix("org_a", "units", "UNIT#", c)
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Status != 400 || p.Code != "invalid_cursor" {
				t.Fatalf("Decode(%q) = %v, want a 400 invalid_cursor problem", c, err)
			}
			return
		}
		if c == "" {
			return
		}
		if !strings.HasPrefix(sk, "UNIT#") || len(sk) <= len("UNIT#") {
			t.Fatalf("Decode(%q) accepted the key %q outside the list", c, sk)
		}
		again, err := cursor.DecodePrefix("org_a", "units", "UNIT#", cursor.Encode("org_a", "units", sk))
		if err != nil || again != sk {
			t.Fatalf("re-encoded %q decodes to %q, %v", sk, again, err)
		}
		if _, err := cursor.DecodePrefix("org_b", "units", "UNIT#", c); err == nil {
			t.Fatalf("Decode(%q) accepted for another organization", c)
		}
	})
}
