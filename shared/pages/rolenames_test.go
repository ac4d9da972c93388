package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// The invitation page names the role, in the page's language for a
// built-in one, never by its id.
func TestTheInvitationPageNamesTheRole(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	role := apitest.Want[struct {
		ID string `json:"id"`
	}](t, e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Dispatcher", "permissions": []string{"users:read"}}), http.StatusCreated, "role")
	b := newBrowser(t, e)
	builtIn := invite(t, e, "member@example.com")
	r := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "custom@example.com", "role": role.ID})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	custom := lastLink(t, e, "custom@example.com")
	cases := []struct{ name, link, lang, want string }{
		{"a built-in role in English", builtIn, "en", "Member"},
		{"a built-in role in French", builtIn, "fr", "Membre"},
		{"a built-in role in Dutch", builtIn, "nl", "Lid"},
		{"a custom role, by its name", custom, "fr", "Dispatcher"},
	}
	for _, c := range cases {
		t.Run(c.name+" shows "+c.want, func(t *testing.T) {
			p := b.get(c.link + "&lang=" + c.lang)
			if p.status != http.StatusOK {
				t.Fatalf("%d", p.status)
			}
			want := `<dd id="invite-role">` + c.want + `</dd>`
			if !strings.Contains(p.text(), want) {
				t.Fatalf("page lacks %q:\n%s", want, p.body)
			}
		})
	}
}
