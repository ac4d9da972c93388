package users_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/users"
)

// create posts a user with the token and decodes the answer.
func create(t *testing.T, e *apitest.Env, token string, body map[string]any) users.Created {
	t.Helper()
	return apitest.Want[users.Created](t, e.Do("POST", "/v1/users", token, body), http.StatusCreated, fmt.Sprintf("create %v", body))
}

func person(email, role string) map[string]any {
	return map[string]any{"email": email, "first_name": "Ada", "last_name": "Lovelace", "role": role}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("an e-mail person is created pending with its welcome link, with its login normalized", func(t *testing.T) {
		c := create(t, e, owner, map[string]any{"email": "Ada@Example.COM", "first_name": "Ada", "last_name": "L",
			"role": "member"})
		if c.Email != "Ada@example.com" || c.Status != "pending" || c.Kind != "person" || c.PasswordSet || c.Password != "" ||
			!strings.HasPrefix(c.Link, "http://guichet.test/reset?token=grs_") || !c.MailSent {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("a duplicate e-mail is a conflict, whatever its case", func(t *testing.T) {
		p := e.Do("POST", "/v1/users", owner, person("ADA@example.com", "member")).Problem(t, 409)
		if p.Code != "email_taken" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a username person gets a password_change challenge at first login", func(t *testing.T) {
		c := create(t, e, owner, map[string]any{"username": "jdoe", "password": "481937", "first_name": "J", "last_name": "Doe", "role": "member"})
		if !c.RequirePasswordChange || c.Username != "jdoe" {
			t.Fatalf("%+v", c)
		}
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "jdoe", "organization": "acme", "password": "481937"})
		var ch struct {
			Challenge      string `json:"challenge"`
			ChallengeToken string `json:"challenge_token"`
		}
		r.Decode(t, &ch)
		if r.Status != 200 || ch.Challenge != "password_change" || ch.ChallengeToken == "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		change := func(pw string) *apitest.Response {
			return e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": ch.ChallengeToken, "new_password": pw})
		}
		for _, bad := range []string{"12345", "abcdef", "481937"} {
			change(bad).Problem(t, 422)
		}
		var tok apitest.Tokens
		r = change("592846")
		r.Decode(t, &tok)
		if r.Status != 200 || e.Do("GET", "/v1/me", tok.AccessToken, nil).Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		t.Run("the challenge works once", func(t *testing.T) {
			change("111111").Problem(t, 401)
		})
		t.Run("the new PIN logs in directly", func(t *testing.T) {
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "JDOE", "organization": "acme", "password": "592846"})
			var tok apitest.Tokens
			r.Decode(t, &tok)
			if r.Status != 200 || tok.AccessToken == "" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	})
	t.Run("a duplicate username in the organization is a conflict", func(t *testing.T) {
		p := e.Do("POST", "/v1/users", owner, map[string]any{"username": "JDoe", "password": "481937",
			"first_name": "J", "last_name": "Doe", "role": "member"}).Problem(t, 409)
		if p.Code != "username_taken" {
			t.Fatal(p.Code)
		}
	})
	t.Run("validation names every bad field and writes nothing", func(t *testing.T) {
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no login", map[string]any{"first_name": "a", "last_name": "b", "role": "member"}, "email"},
			{"both logins", map[string]any{"email": "x@example.com", "username": "xx1", "password": "481937", "first_name": "a", "last_name": "b", "role": "member"}, "username"},
			{"a bad e-mail", person("not-an-email", "member"), "email"},
			{"a display name in the e-mail", person("Ada <ada2@example.com>", "member"), "email"},
			{"no first name", map[string]any{"email": "n@example.com", "last_name": "b", "role": "member"}, "first_name"},
			{"a control character in a name", map[string]any{"email": "c@example.com", "first_name": "a\u0007", "last_name": "b", "role": "member"}, "first_name"},
			{"a name too long", map[string]any{"email": "l@example.com", "first_name": strings.Repeat("a", 101), "last_name": "b", "role": "member"}, "first_name"},
			{"an unknown language", map[string]any{"email": "g@example.com", "first_name": "a", "last_name": "b", "role": "member", "language": "de"}, "language"},
			{"a PIN that is not 6 digits", map[string]any{"username": "pin1", "password": "12345a", "first_name": "a", "last_name": "b", "role": "member"}, "password"},
			{"a bad username", map[string]any{"username": "a b", "password": "481937", "first_name": "a", "last_name": "b", "role": "member"}, "username"},
			{"a short password", map[string]any{"email": "s@example.com", "password": "short", "first_name": "a", "last_name": "b", "role": "member"}, "password"},
			{"the owner role", person("o@example.com", "owner"), "role"},
			{"an unknown role", person("r@example.com", "rol_nope"), "role"},
			{"no role", map[string]any{"email": "nr@example.com", "first_name": "a", "last_name": "b"}, "role"},
			{"units and all_units", map[string]any{"email": "u@example.com", "first_name": "a", "last_name": "b", "role": "member", "units": []string{"unt_a"}, "all_units": true}, "units"},
			{"a default unit outside the units", map[string]any{"email": "d@example.com", "first_name": "a", "last_name": "b", "role": "member", "units": []string{"unt_a"}, "default_unit": "unt_b"}, "default_unit"},
			{"a unit that does not exist", map[string]any{"email": "x2@example.com", "first_name": "a", "last_name": "b", "role": "member", "units": []string{"unt_ghost"}}, "units"},
			{"a service user with a short code", map[string]any{"kind": "service", "user_code": "ab1", "client": "comax", "role": "member"}, "user_code"},
			{"a service user of an unknown client", map[string]any{"kind": "service", "user_code": "SVC0001", "client": "nope", "role": "member"}, "client"},
			{"an unknown kind", map[string]any{"kind": "robot", "email": "k@example.com", "first_name": "a", "last_name": "b", "role": "member"}, "kind"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.ResetCounters()
				p := e.Do("POST", "/v1/users", owner, c.body).Problem(t, 422)
				found := false
				for _, f := range p.Errors {
					found = found || f.Field == c.field
				}
				if !found {
					t.Fatalf("no error on %s: %+v", c.field, p.Errors)
				}
				if ops := e.Counters[route.Bulk].Operations(); len(ops) > 0 && c.field != "units" {
					for _, op := range ops {
						if op == "TransactWriteItems" {
							t.Fatalf("wrote: %v", ops)
						}
					}
				}
			})
		}
	})
}

func TestConcurrentCreationOfOneEmailHasOneWinner(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.Do("POST", "/v1/users", owner, person("race@example.com", "member")).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d creations won, want 1", created)
	}
	var page users.Page
	e.Do("GET", "/v1/users?q=race", owner, nil).Decode(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%d users with that e-mail in the table", len(page.Items))
	}
}

func TestServiceUsers(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	c := create(t, e, owner, map[string]any{"kind": "service", "user_code": "comax01", "client": "comax",
		"role": "admin", "language": "fr", "all_units": true})
	if c.Kind != "service" || c.UserCode != "COMAX01" || len(c.Password) < 20 || c.RequirePasswordChange {
		t.Fatalf("%+v", c)
	}
	token := func(code, pw string) *apitest.Response {
		return e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": code, "password": pw})
	}
	t.Run("it gets tokens from /v1/auth/token with its generated password", func(t *testing.T) {
		var tok apitest.Tokens
		r := token("comax01", c.Password)
		r.Decode(t, &tok)
		if r.Status != 200 || e.Do("GET", "/v1/users", tok.AccessToken, nil).Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("it cannot log in to the apps", func(t *testing.T) {
		p := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "comax01", "organization": "acme", "password": c.Password}).Problem(t, 403)
		if p.Code != "service_user" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a person's credentials are refused by /v1/auth/token", func(t *testing.T) {
		create(t, e, owner, map[string]any{"username": "person1", "password": "481937", "first_name": "P", "last_name": "One", "role": "member"})
		token("person1", "481937").Problem(t, 401)
	})
	t.Run("a duplicate user code is a conflict", func(t *testing.T) {
		p := e.Do("POST", "/v1/users", owner, map[string]any{"kind": "service", "user_code": "COMAX01", "client": "comax", "role": "member"}).Problem(t, 409)
		if p.Code != "user_code_taken" {
			t.Fatal(p.Code)
		}
	})
	t.Run("the letter resets the password and holds the codes", func(t *testing.T) {
		r := e.Do("POST", "/v1/users/"+c.ID+"/letter", owner, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(r.Body), "%PDF-") {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
		text := pdfText(t, r.Body)
		m := regexpFind(text, `Mot de passe:\s*(\S+)`)
		if !strings.Contains(text, "acme") || !strings.Contains(text, "COMAX01") || m == "" {
			t.Fatalf("letter text:\n%s", text)
		}
		token("COMAX01", c.Password).Problem(t, 401)
		if r := token("COMAX01", m); r.Status != 200 {
			t.Fatalf("the letter's password is refused: %d %s", r.Status, r.Body)
		}
	})
	t.Run("only service users get a letter", func(t *testing.T) {
		e.Do("POST", "/v1/users/"+e.Org.Owner.ID+"/letter", owner, nil).Problem(t, 422)
	})
}

// pdfText extracts a PDF's text with poppler's pdftotext, an independent
// PDF reader.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext (Debian package poppler-utils) is needed: .ci/run installs it")
	}
	f := t.TempDir() + "/letter.pdf"
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestPermissionsAndTenancy(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	admin, adminTok := e.AddUserLogin(t, "admin@acme.example", "admin")

	ctx := context.Background()
	if _, _, err := e.Seed(ctx, "Other", "other", "boss@other.example", "other-password-123"); err != nil {
		t.Fatal(err)
	}
	otherOwner := e.Login(t, "boss@other.example", "other-password-123").AccessToken

	t.Run("a member cannot list users", func(t *testing.T) {
		e.Do("GET", "/v1/users", member, nil).Problem(t, 403)
	})
	t.Run("a member cannot create users", func(t *testing.T) {
		e.Do("POST", "/v1/users", member, person("x@example.com", "member")).Problem(t, 403)
	})
	t.Run("another organization's user is not found", func(t *testing.T) {
		for _, req := range []struct{ method, path string }{
			{"GET", "/v1/users/" + admin.ID}, {"PATCH", "/v1/users/" + admin.ID}, {"DELETE", "/v1/users/" + admin.ID},
			{"POST", "/v1/users/" + admin.ID + "/status"},
		} {
			body := map[string]any{}
			if req.method == "POST" {
				body = map[string]any{"status": "inactive"}
			}
			e.Do(req.method, req.path, otherOwner, body).Problem(t, 404)
		}
		if r := e.Do("GET", "/v1/users/"+admin.ID, owner, nil); r.Status != 200 {
			t.Fatal("the user was changed by another organization")
		}
	})
	t.Run("another organization's users are not listed", func(t *testing.T) {
		var page users.Page
		e.Do("GET", "/v1/users", otherOwner, nil).Decode(t, &page)
		if len(page.Items) != 1 {
			t.Fatalf("%d users listed", len(page.Items))
		}
	})
	t.Run("the owner cannot be deleted, deactivated or given another role", func(t *testing.T) {
		id := e.Org.Owner.ID
		for _, p := range []struct {
			method, path string
			body         any
		}{
			{"DELETE", "/v1/users/" + id, nil},
			{"POST", "/v1/users/" + id + "/status", map[string]string{"status": "inactive"}},
			{"PATCH", "/v1/users/" + id, map[string]string{"role": "member"}},
		} {
			if pr := e.Do(p.method, p.path, adminTok, p.body).Problem(t, 409); pr.Code != "owner_protected" {
				t.Fatal(pr.Code)
			}
		}
	})
	t.Run("nobody changes their own role", func(t *testing.T) {
		e.Do("PATCH", "/v1/users/"+admin.ID, adminTok, map[string]string{"role": "member"}).Problem(t, 403)
	})
	t.Run("nobody gives a permission they do not hold", func(t *testing.T) {
		var role users.Role
		e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Recruiter", "permissions": []string{"users:read", "users:write"}}).Decode(t, &role)
		e.AddUser(t, "recruiter@acme.example", role.ID)
		rec := e.Login(t, "recruiter@acme.example", apitest.UserPassword).AccessToken
		p := e.Do("POST", "/v1/users", rec, person("new-admin@example.com", "admin")).Problem(t, 403)
		if p.Code != "permission_escalation" {
			t.Fatal(p.Code)
		}
		create(t, e, rec, person("new-member@example.com", "member"))
		e.Do("POST", "/v1/roles", rec, map[string]any{"name": "X", "permissions": []string{"audit:read"}}).Problem(t, 403)
		e.Do("PATCH", "/v1/users/"+admin.ID, rec, map[string]string{"first_name": "Eve"}).Problem(t, 403)
	})
}

func TestStatusAndSessions(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := e.AddUser(t, "worker@acme.example", "admin")
	tok := e.Login(t, "worker@acme.example", apitest.UserPassword)
	if e.Do("GET", "/v1/users", tok.AccessToken, nil).Status != 200 {
		t.Fatal("setup")
	}
	r := e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "inactive"})
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	t.Run("deactivation refuses the user's session on the very next request", func(t *testing.T) {
		e.Do("GET", "/v1/users", tok.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).Problem(t, 401)
	})
	t.Run("an inactive user cannot log in", func(t *testing.T) {
		p := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "worker@acme.example", "password": apitest.UserPassword}).Problem(t, 403)
		if p.Code != "account_inactive" {
			t.Fatal(p.Code)
		}
	})
	t.Run("reactivation lets the user log in again", func(t *testing.T) {
		e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "active"})
		e.Login(t, "worker@acme.example", apitest.UserPassword)
	})
	t.Run("a role change applies to live sessions at once", func(t *testing.T) {
		live := e.Login(t, "worker@acme.example", apitest.UserPassword).AccessToken
		if r := e.Do("PATCH", "/v1/users/"+u.ID, owner, map[string]string{"role": "member"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/users", live, nil).Problem(t, 403)
		if e.Do("GET", "/v1/me", live, nil).Status != 200 {
			t.Fatal("session lost")
		}
	})
	t.Run("deletion ends everything", func(t *testing.T) {
		live := e.Login(t, "worker@acme.example", apitest.UserPassword).AccessToken
		if r := e.Do("DELETE", "/v1/users/"+u.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/me", live, nil).Problem(t, 401)
		e.Do("GET", "/v1/users/"+u.ID, owner, nil).Problem(t, 404)
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "worker@acme.example", "password": apitest.UserPassword}).Problem(t, 401)
		t.Run("and the e-mail is free again", func(t *testing.T) {
			create(t, e, owner, person("worker@acme.example", "member"))
		})
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	c := create(t, e, owner, map[string]any{"username": "kiosk1", "password": "481937", "first_name": "K", "last_name": "One", "role": "member"})
	t.Run("names and language change", func(t *testing.T) {
		var u users.User
		r := e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"first_name": "Kim", "language": "nl"})
		r.Decode(t, &u)
		if r.Status != 200 || u.FirstName != "Kim" || u.Language != "nl" || u.LastName != "One" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("the username is immutable", func(t *testing.T) {
		e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"username": "kiosk2"}).Problem(t, 422)
	})
	t.Run("a role that requires an e-mail is refused for a username user", func(t *testing.T) {
		var role users.Role
		e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Manager", "permissions": []string{"users:read"}, "requires_email": true}).Decode(t, &role)
		p := e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"role": role.ID}).Problem(t, 422)
		if p.Errors[0].Field != "role" {
			t.Fatal(p.Errors)
		}
		e.Do("POST", "/v1/users", owner, map[string]any{"username": "kiosk3", "password": "481937", "first_name": "K", "last_name": "3", "role": role.ID}).Problem(t, 422)
	})
	t.Run("an admin resets a username user's PIN and ends its sessions", func(t *testing.T) {
		e.Do("POST", "/v1/users/"+c.ID+"/password", owner, map[string]any{"password": "730518", "require_change": false})
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "kiosk1", "organization": "acme", "password": "730518"})
		var tok apitest.Tokens
		r.Decode(t, &tok)
		if r.Status != 200 || tok.AccessToken == "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("POST", "/v1/users/"+c.ID+"/password", owner, map[string]any{"password": "864209"})
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/users/"+e.Org.Owner.ID+"/password", owner, map[string]any{"password": "864209"}).Problem(t, 422)
	})
	t.Run("of two admins changing one user at once, each change is whole", func(t *testing.T) {
		const n = 20
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"first_name": fmt.Sprint("Name", i), "last_name": fmt.Sprint("Last", i)}).Status
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			if s == 200 {
				ok++
			} else if s != 409 {
				t.Fatalf("status %d", s)
			}
		}
		var u users.User
		e.Do("GET", "/v1/users/"+c.ID, owner, nil).Decode(t, &u)
		if ok == 0 || strings.TrimPrefix(u.FirstName, "Name") != strings.TrimPrefix(u.LastName, "Last") {
			t.Fatalf("%d wins; user %s %s", ok, u.FirstName, u.LastName)
		}
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	var list users.RoleList
	e.Do("GET", "/v1/roles", owner, nil).Decode(t, &list)
	if len(list.Items) != 3 || !list.Items[0].BuiltIn {
		t.Fatalf("%+v", list)
	}
	var role users.Role
	r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Auditor", "permissions": []string{"audit:read", "users:read"}})
	r.Decode(t, &role)
	if r.Status != 201 || role.ID == "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	t.Run("built-in roles are not editable", func(t *testing.T) {
		e.Do("PATCH", "/v1/roles/admin", owner, map[string]any{"name": "Boss"}).Problem(t, 409)
		e.Do("DELETE", "/v1/roles/member", owner, nil).Problem(t, 409)
	})
	t.Run("a duplicate name is a conflict", func(t *testing.T) {
		e.Do("POST", "/v1/roles", owner, map[string]any{"name": "auditor", "permissions": []string{}}).Problem(t, 409)
	})
	t.Run("an unknown permission is refused", func(t *testing.T) {
		e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Bad", "permissions": []string{"root"}}).Problem(t, 422)
	})
	u := e.AddUser(t, "auditor@acme.example", role.ID)
	tok := e.Login(t, "auditor@acme.example", apitest.UserPassword).AccessToken
	t.Run("a role in use cannot be deleted", func(t *testing.T) {
		if p := e.Do("DELETE", "/v1/roles/"+role.ID, owner, nil).Problem(t, 409); p.Code != "role_in_use" {
			t.Fatal(p.Code)
		}
	})
	t.Run("changing a role's permissions changes its holders' live sessions", func(t *testing.T) {
		if e.Do("GET", "/v1/users", tok, nil).Status != 200 {
			t.Fatal("setup")
		}
		got := apitest.Want[users.Role](t, e.Do("PATCH", "/v1/roles/"+role.ID, owner, map[string]any{"permissions": []string{"audit:read"}}), 200, "role")
		if got.Regrant != "pending" || got.Version != 2 {
			t.Fatalf("regrant %q, version %d: want pending, 2", got.Regrant, got.Version)
		}
		if err := e.RunJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.Do("GET", "/v1/users", tok, nil).Problem(t, 403)
	})
	t.Run("a role nobody holds is deleted", func(t *testing.T) {
		e.Do("PATCH", "/v1/users/"+u.ID, owner, map[string]any{"role": "member"})
		if r := e.Do("DELETE", "/v1/roles/"+role.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for i := range 12 {
		create(t, e, owner, map[string]any{"email": fmt.Sprintf("p%02d@example.com", i), "first_name": fmt.Sprint("Person", i), "last_name": "Doe", "role": "member"})
	}
	create(t, e, owner, map[string]any{"kind": "service", "user_code": "SVC0001", "client": "internal", "role": "member", "status": "inactive"})
	list := func(q string) users.Page {
		var p users.Page
		r := e.Do("GET", "/v1/users"+q, owner, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
		r.Decode(t, &p)
		return p
	}
	t.Run("pages follow each other to the end", func(t *testing.T) {
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			p := list("?limit=5&cursor=" + cursor)
			for _, u := range p.Items {
				if seen[u.ID] {
					t.Fatalf("%s twice", u.ID)
				}
				seen[u.ID] = true
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
			if pages > 10 {
				t.Fatal("no end")
			}
		}
		if len(seen) != 14 {
			t.Fatalf("%d users", len(seen))
		}
	})
	// every follows next_cursor: a filtered page may hold fewer items than
	// its limit.
	every := func(q string) []users.User {
		var out []users.User
		for p := list(q); ; p = list(q + "&cursor=" + p.NextCursor) {
			out = append(out, p.Items...)
			if p.NextCursor == "" {
				return out
			}
		}
	}
	t.Run("filters narrow the list", func(t *testing.T) {
		if n := len(every("?kind=service")); n != 1 {
			t.Fatalf("kind: %d", n)
		}
		if n := len(every("?status=inactive")); n != 1 {
			t.Fatalf("status: %d", n)
		}
		if n := len(every("?q=person1")); n != 3 { // Person1, Person10, Person11
			t.Fatalf("q: %d", n)
		}
		if n := len(every("?role=owner")); n != 1 {
			t.Fatalf("role: %d", n)
		}
	})
	t.Run("bad parameters are refused", func(t *testing.T) {
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?status=gone", "?kind=robot"} {
			e.Do("GET", "/v1/users"+q, owner, nil).Problem(t, 422)
		}
		for _, c := range []string{"garbage", "eyJvIjoib3JnX3giLCJsIjoidXNlcnMiLCJrIjoiVVNFUiN4In0"} {
			if p := e.Do("GET", "/v1/users?cursor="+c, owner, nil).Problem(t, 400); p.Code != "invalid_cursor" {
				t.Fatal(p.Code)
			}
		}
	})
	t.Run("a cursor of another organization is refused", func(t *testing.T) {
		next := list("?limit=2").NextCursor
		if _, _, err := e.Seed(context.Background(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
			t.Fatal(err)
		}
		other := e.Login(t, "boss@other.example", "other-password-123").AccessToken
		e.Do("GET", "/v1/users?cursor="+next, other, nil).Problem(t, 400)
	})
}

func TestOwnershipTransfer(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	admin, adminTok := e.AddUserLogin(t, "next@acme.example", "admin")
	kiosk := create(t, e, owner, map[string]any{"username": "kiosk", "password": "481937", "first_name": "K", "last_name": "K", "role": "member"})

	t.Run("only the owner transfers ownership", func(t *testing.T) {
		e.Do("POST", "/v1/organization/owner", adminTok, map[string]string{"user_id": admin.ID}).Problem(t, 403)
	})
	t.Run("the new owner needs an e-mail", func(t *testing.T) {
		e.Do("POST", "/v1/organization/owner", owner, map[string]string{"user_id": kiosk.ID}).Problem(t, 422)
	})
	t.Run("the owner hands over and becomes an admin", func(t *testing.T) {
		r := e.Do("POST", "/v1/organization/owner", owner, map[string]string{"user_id": admin.ID})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var u users.User
		e.Do("GET", "/v1/users/"+e.Org.Owner.ID, adminTok, nil).Decode(t, &u)
		if u.Role != "admin" {
			t.Fatal(u.Role)
		}
		e.Do("GET", "/v1/users/"+admin.ID, adminTok, nil).Decode(t, &u)
		if u.Role != "owner" {
			t.Fatal(u.Role)
		}
		// The new owner's live session is the owner's at once.
		e.Do("DELETE", "/v1/users/"+admin.ID, owner, nil).Problem(t, 409)
		if r := e.Do("POST", "/v1/organization/owner", adminTok, map[string]string{"user_id": e.Org.Owner.ID}); r.Status != 200 {
			t.Fatalf("hand back: %d %s", r.Status, r.Body)
		}
	})
}

func TestEveryChangeIsAudited(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	c := create(t, e, owner, person("audited@example.com", "member"))
	e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"first_name": "Audrey"})
	e.Do("POST", "/v1/users/"+c.ID+"/status", owner, map[string]any{"status": "inactive"})
	e.Do("DELETE", "/v1/users/"+c.ID, owner, nil)
	events, _, err := e.Store.ListAudit(context.Background(), e.Org.Org.ID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if ev.Target == "user:"+c.ID {
			got = append(got, ev.Action)
			if ev.Actor != e.Org.Owner.ID || !strings.HasPrefix(ev.Via, "session:") {
				t.Fatalf("%+v", ev)
			}
		}
	}
	want := "user.delete user.status user.update user.create"
	if strings.Join(got, " ") != want {
		t.Fatalf("audit %v, want %s", got, want)
	}
}

func regexpFind(s, expr string) string {
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}
