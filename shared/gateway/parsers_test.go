package gateway_test

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestBodyKeysAreCaseSensitive: encoding/json matches a key to a field
// regardless of case, so a body naming one field twice in two cases could
// mean one thing to a proxy or a log and another to Guichet.
func TestBodyKeysAreCaseSensitive(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("a login naming the owner in another case is refused", func(t *testing.T) {
		body := `{"login":"nobody@acme.example","password":"` + apitest.OwnerPassword + `","LOGIN":"owner@acme.example"}`
		if p := e.Do("POST", "/v1/auth/login", "", body).Problem(t, 400); p.Code != "invalid_json" {
			t.Fatal(p.Code)
		}
	})
	t.Run("an invitation naming its role twice is refused, writing and mailing nothing", func(t *testing.T) {
		before := e.Scan(t)
		body := `{"email":"mallory@example.com","role":"member","Role":"admin"}`
		if p := e.Do("POST", "/v1/invitations", owner, body).Problem(t, 400); p.Code != "invalid_json" {
			t.Fatal(p.Code)
		}
		if after := e.Scan(t); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatalf("the table changed")
		}
		for _, m := range e.Outbox.Messages() {
			if m.To[0] == "mallory@example.com" {
				t.Fatal("an invitation was mailed")
			}
		}
	})
	t.Run("a JSON Lines import row with a key in another case is rejected", func(t *testing.T) {
		jl := `{"email":"jl.case@example.com","first_name":"J","last_name":"L","role":"member","Role":"admin"}`
		r := e.DoHeader("POST", "/v1/users/import", map[string]string{"Content-Type": "application/x-ndjson",
			"Authorization": "Bearer " + owner, "User-Agent": "apitest"}, jl)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"accepted":[]`) || !strings.Contains(string(r.Body), `"field":"row"`) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
