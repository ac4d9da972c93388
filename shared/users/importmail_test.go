package users_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// The set-up and welcome mails name who sent them and the role by its
// name (a built-in role's in the recipient's language), never by its id.
func TestImportAndWelcomeMailsNameTheInviterAndTheRole(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	role := apitest.Want[struct {
		ID string `json:"id"`
	}](t, e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Dispatcher", "permissions": []string{"users:read"}}), http.StatusCreated, "role")
	_, admin := e.AddUserLogin(t, "admin@acme.example", "admin") // named "Test admin"
	mailOf := func(t *testing.T, to string) string {
		t.Helper()
		m := e.LastMail(t, to)
		return m.Subject + "\n" + m.Text + "\n" + m.HTML
	}
	t.Run("an import by a named admin", func(t *testing.T) {
		rep := importFile(t, e, admin, "?send_invitations=true", "text/csv",
			"email,first_name,last_name,role,language\n"+
				"fr@example.com,Fr,Ançais,member,fr\n"+
				"nl@example.com,Ne,Derlands,admin,nl\n"+
				"en@example.com,En,Glish,"+role.ID+",en\n")
		if rep.Invited != 3 {
			t.Fatalf("%+v", rep)
		}
		for to, wants := range map[string][]string{
			"fr@example.com": {"Test admin vous invite à rejoindre Acme", "en tant que Membre"},
			"nl@example.com": {"Test admin nodigt u uit", "als Beheerder"},
			"en@example.com": {"Test admin invites you to join Acme", "as Dispatcher"},
		} {
			got := mailOf(t, to)
			for _, w := range wants {
				if !strings.Contains(got, w) {
					t.Errorf("the mail to %s lacks %q:\n%s", to, w, got)
				}
			}
			for _, id := range []string{"as member", "as admin", role.ID} {
				if strings.Contains(got, id) {
					t.Errorf("the mail to %s shows the role id %q", to, id)
				}
			}
		}
	})
	t.Run("an import by an owner without names is signed with its address", func(t *testing.T) {
		importFile(t, e, owner, "?send_invitations=true", "text/csv",
			"email,first_name,last_name,role,language\nanon@example.com,An,On,member,en\n")
		if got := mailOf(t, "anon@example.com"); !strings.Contains(got, "owner@acme.example invites you to join Acme") {
			t.Fatalf("%s", got)
		}
	})
	t.Run("a created person's welcome mail names the role", func(t *testing.T) {
		create(t, e, admin, map[string]any{"email": "welcome@example.com", "first_name": "We", "last_name": "Lcome",
			"role": role.ID, "language": "fr"})
		create(t, e, admin, map[string]any{"email": "welcome2@example.com", "first_name": "We", "last_name": "Lcome",
			"role": "member", "language": "nl"})
		if got := mailOf(t, "welcome@example.com"); !strings.Contains(got, "Dispatcher") || strings.Contains(got, role.ID) {
			t.Fatalf("%s", got)
		}
		if got := mailOf(t, "welcome2@example.com"); !strings.Contains(got, "als Lid") || !strings.Contains(got, "Test admin") {
			t.Fatalf("%s", got)
		}
	})
}
