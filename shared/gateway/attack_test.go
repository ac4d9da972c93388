package gateway_test

import (
	"fmt"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestWhatAnAttackOnMakeRunFound holds the defects a tester found by
// attacking the local stack after the security work.
func TestWhatAnAttackOnMakeRunFound(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("a lower role does not revoke a higher role's invitation", func(t *testing.T) {
		var role struct{ ID string }
		e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Helpdesk", "permissions": []string{"users:read", "invitations:write"}}).Decode(t, &role)
		_, help := e.AddUserLogin(t, "helpdesk@acme.example", role.ID)
		var inv struct{ ID string }
		if r := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "future.admin@acme.example", "role": "admin"}); r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		} else {
			r.Decode(t, &inv)
		}
		before := e.Scan(t)
		if p := e.Do("DELETE", "/v1/invitations/"+inv.ID, help, nil).Problem(t, 403); p.Code != "permission_escalation" {
			t.Fatal(p.Code)
		}
		if diff(before, e.Scan(t)) != "" {
			t.Fatal("a refused revocation wrote something")
		}
		if r := e.Do("DELETE", "/v1/invitations/"+inv.ID, owner, nil); r.Status != 204 {
			t.Fatalf("the owner's revocation: %d %s", r.Status, r.Body)
		}
	})

	t.Run("an API key neither signs its owner out nor silences their security notices", func(t *testing.T) {
		var k struct {
			Key string `json:"key"`
		}
		r := e.Do("POST", "/v1/me/api-keys", owner, map[string]any{"name": "Leaky", "client": "internal",
			"current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &k)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"DELETE", "/v1/me/sessions", nil},
			{"DELETE", "/v1/me/sessions/ses_doesnotmatter", nil},
			{"PATCH", "/v1/me", map[string]any{"notifications": map[string]any{"password_changed": map[string]bool{"email": false}}}},
		} {
			if p := e.Do(c.method, c.path, k.Key, c.body).Problem(t, 403); p.Code != "session_required" {
				t.Fatalf("%s %s: %s", c.method, c.path, p.Code)
			}
		}
		if r := e.Do("GET", "/v1/me", owner, nil); r.Status != 200 {
			t.Fatalf("the owner's session ended: %d", r.Status)
		}
		if r := e.Do("PATCH", "/v1/me", k.Key, map[string]any{"first_name": "Still"}); r.Status != 200 {
			t.Fatalf("a key may still change its owner's names: %d %s", r.Status, r.Body)
		}
	})

	t.Run("a lone surrogate in a name is refused, not stored as U+FFFD", func(t *testing.T) {
		p := e.Do("PATCH", "/v1/me", owner, `{"first_name":"A\ud800B"}`).Problem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Field != "first_name" {
			t.Fatalf("%+v", p)
		}
	})
}

// TestWelcomeMailsCountPerActingUser: creating a person mails it a welcome
// link; one user's creations count like its invitations (30 an hour, in
// the creation's own transaction), so one account cannot mail thousands
// of outside addresses, and a refused creation writes nothing.
func TestWelcomeMailsCountPerActingUser(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	_, admin := e.AddUserLogin(t, "hr@acme.example", "admin")
	create := func(i int) *apitest.Response {
		return e.Do("POST", "/v1/users", admin, map[string]any{"email": fmt.Sprintf("new%d@outside.example", i),
			"first_name": "N", "last_name": "U", "role": "member"})
	}
	for i := range 30 {
		if r := create(i); r.Status != 201 {
			t.Fatalf("creation %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	before := e.Scan(t)
	r := create(30)
	if p := r.Problem(t, 429); p.Code != "too_many_mails" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("%s, Retry-After %q", p.Code, r.Header.Get("Retry-After"))
	}
	if diff(before, e.Scan(t)) != "" {
		t.Fatal("a refused creation wrote something")
	}
}

// TestResetRequestsDoNotSilenceSecurityNotices holds a defect an attack
// on make run found: five public reset requests for an address spent its
// mail limit, and the "password changed" notice of the next hour was
// skipped. Notices count apart from the mails anyone can cause.
func TestResetRequestsDoNotSilenceSecurityNotices(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for range 6 {
		e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "owner@acme.example"})
	}
	e.Outbox.Reset()
	if r := e.Do("POST", "/v1/me/password", owner, map[string]string{"current_password": apitest.OwnerPassword, "new_password": "a-brand-new-passphrase"}); r.Status != 204 && r.Status != 200 {
		t.Fatalf("password change: %d %s", r.Status, r.Body)
	}
	ms := e.Outbox.Messages()
	if len(ms) != 1 || fmt.Sprint(ms[0].To) != "[owner@acme.example]" {
		t.Fatalf("after the reset requests, the password change sent %d mails: %+v", len(ms), ms)
	}
}
