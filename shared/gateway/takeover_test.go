package gateway_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
)

// enrollTOTP turns two-step verification on for the holder of tok and
// returns its secret.
func enrollTOTP(t *testing.T, e *apitest.Env, tok, pw string) string {
	t.Helper()
	var st struct {
		Secret string `json:"secret"`
	}
	e.Do("POST", "/v1/me/mfa/totp", tok, nil).Decode(t, &st)
	code := gotp.NewDefaultTOTP(st.Secret).At(e.Clock.Now().Unix())
	if r := e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code, "current_password": pw}); r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	return st.Secret
}

// auditActions lists the actions of the organization's audit trail.
func auditActions(t *testing.T, e *apitest.Env, owner string) []string {
	t.Helper()
	var page struct {
		Items []struct {
			Action string `json:"action"`
			Target string `json:"target"`
		} `json:"items"`
	}
	e.Do("GET", "/v1/audit?limit=100", owner, nil).Decode(t, &page)
	var out []string
	for _, it := range page.Items {
		out = append(out, it.Action+" "+it.Target)
	}
	return out
}

// TestNoAdminActsOnTheCredentialsOfAUserAboveIt: an admin gets no reset
// link, letter, MFA reset or key revocation of the owner, nor a holder of
// permissions it lacks of one of those users; and nothing is written.
func TestNoAdminActsOnTheCredentialsOfAUserAboveIt(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	ownerID := e.Org.Owner.ID
	_, admin := e.AddUserLogin(t, "admin@acme.example", "admin")
	key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "Owner's", "client": "internal",
		"scopes": []string{"organization:read"}, "current_password": apitest.OwnerPassword})
	enrollTOTP(t, e, owner, apitest.OwnerPassword)
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Helpdesk", "permissions": []string{"users:write"}})
	e.AddUser(t, "help@acme.example", role["id"].(string))
	help := e.Login(t, "help@acme.example", apitest.UserPassword).AccessToken
	other := e.AddUser(t, "other-admin@acme.example", "admin")

	before := e.Scan(t)
	for _, c := range []struct {
		name, method, path, tok, code string
		status                        int
	}{
		{"an admin gets no reset link of the owner", "POST", "/v1/users/" + ownerID + "/password-reset", admin, "owner_protected", 409},
		{"an admin does not reset the owner's MFA", "POST", "/v1/users/" + ownerID + "/mfa-reset", admin, "owner_protected", 409},
		{"an admin does not revoke the owner's key", "DELETE", "/v1/api-keys/" + key["id"].(string), admin, "owner_protected", 409},
		{"a helpdesk gets no reset link of an admin", "POST", "/v1/users/" + other.ID + "/password-reset", help, "permission_escalation", 403},
		{"a helpdesk does not reset an admin's MFA", "POST", "/v1/users/" + other.ID + "/mfa-reset", help, "permission_escalation", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			if p := e.Do(c.method, c.path, c.tok, map[string]any{}).Problem(t, c.status); p.Code != c.code {
				t.Fatalf("code %s, want %s", p.Code, c.code)
			}
		})
	}
	if d := diff(before, e.Scan(t)); d != "" {
		t.Fatalf("a refusal wrote:\n%s", d)
	}
	t.Run("the owner still may", func(t *testing.T) {
		r := e.Do("POST", "/v1/users/"+other.ID+"/password-reset", owner, map[string]any{})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestAnAdminResetsAUsersMFA: the user's authenticator and sessions end,
// the next login opens a session without a code, and it is audited.
func TestAnAdminResetsAUsersMFA(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u, tok := e.AddUserLogin(t, "lost-phone@acme.example", "member")
	enrollTOTP(t, e, tok, apitest.UserPassword)
	r := e.Do("POST", "/v1/users/"+u.ID+"/mfa-reset", owner, nil)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Do("GET", "/v1/me", tok, nil).Problem(t, 401)
	var login map[string]any
	e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "lost-phone@acme.example", "password": apitest.UserPassword}).Decode(t, &login)
	if login["access_token"] == nil {
		t.Fatalf("login asks for a step: %v", login)
	}
	if !slices.Contains(auditActions(t, e, owner), "user.mfa_reset user:"+u.ID) {
		t.Fatal("not audited")
	}
	t.Run("a second reset has nothing to reset", func(t *testing.T) {
		if p := e.Do("POST", "/v1/users/"+u.ID+"/mfa-reset", owner, nil).Problem(t, 409); p.Code != "mfa_off" {
			t.Fatal(p.Code)
		}
	})
	t.Run("nor does one reset one's own this way", func(t *testing.T) {
		if p := e.Do("POST", "/v1/users/"+e.Org.Owner.ID+"/mfa-reset", owner, nil).Problem(t, 409); !strings.HasSuffix(p.Code, "_protected") {
			t.Fatal(p.Code)
		}
	})
}

// resetLink asks an admin's reset link for user and returns its token.
func resetLink(t *testing.T, e *apitest.Env, owner, user string) string {
	t.Helper()
	var out struct {
		Link string `json:"link"`
	}
	r := e.Do("POST", "/v1/users/"+user+"/password-reset", owner, map[string]any{})
	if r.Status != 200 {
		t.Fatalf("reset link: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &out)
	return apitest.LinkToken(t, out.Link)
}

func completeReset(e *apitest.Env, tok, pw string, more map[string]any) *apitest.Response {
	body := map[string]any{"token": tok, "password": pw}
	for k, v := range more {
		body[k] = v
	}
	return e.Do("POST", "/v1/password-resets/complete", "", body)
}

// emailChangeLink asks a change of the holder of tok's address to addr
// and returns the link's token, as mailed.
func emailChangeLink(t *testing.T, e *apitest.Env, tok, pw, addr string) string {
	t.Helper()
	if r := e.Do("POST", "/v1/me/email", tok, map[string]string{"new_email": addr, "password": pw}); r.Status != 202 {
		t.Fatalf("e-mail change: %d %s", r.Status, r.Body)
	}
	for _, m := range e.Outbox.Messages() {
		if strings.EqualFold(m.To[0], addr) {
			return apitest.LinkToken(t, m.Links[0])
		}
	}
	t.Fatalf("no mail to %s", addr)
	return ""
}

// TestAChangeOfLoginOrPasswordEndsEveryOutstandingLink: a reset or
// e-mail change link mailed before a password change, a reset, an e-mail
// change, a deactivation or a deletion no longer works.
func TestAChangeOfLoginOrPasswordEndsEveryOutstandingLink(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	invalid := func(t *testing.T, r *apitest.Response) {
		t.Helper()
		if p := r.Problem(t, 400); p.Code != "invalid_link" {
			t.Fatal(p.Code)
		}
	}
	t.Run("a password change ends the reset link", func(t *testing.T) {
		u := e.AddUser(t, "changer@acme.example", "member")
		link := resetLink(t, e, owner, u.ID)
		tok := e.Login(t, "changer@acme.example", apitest.UserPassword).AccessToken
		if r := e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": apitest.UserPassword, "new_password": "a-brand-new-pass-1"}); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		invalid(t, completeReset(e, link, "the-attackers-pass-1", nil))
		e.Login(t, "changer@acme.example", "a-brand-new-pass-1")
	})
	t.Run("a confirmed e-mail change ends the reset link mailed to the old address", func(t *testing.T) {
		u := e.AddUser(t, "mover@acme.example", "member")
		link := resetLink(t, e, owner, u.ID)
		tok := e.Login(t, "mover@acme.example", apitest.UserPassword).AccessToken
		change := emailChangeLink(t, e, tok, apitest.UserPassword, "moved@acme.example")
		if r := e.Do("POST", "/v1/me/email/confirm", "", map[string]string{"token": change}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		invalid(t, completeReset(e, link, "the-attackers-pass-1", nil))
		e.Login(t, "moved@acme.example", apitest.UserPassword)
	})
	t.Run("a reset ends the e-mail change link", func(t *testing.T) {
		u, tok := e.AddUserLogin(t, "stolen@acme.example", "member")
		change := emailChangeLink(t, e, tok, apitest.UserPassword, "attacker@evil.example")
		if r := completeReset(e, resetLink(t, e, owner, u.ID), "taken-back-pass-1", nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		invalid(t, e.Do("POST", "/v1/me/email/confirm", "", map[string]string{"token": change}))
		e.Login(t, "stolen@acme.example", "taken-back-pass-1")
	})
	t.Run("deactivation ends the reset link", func(t *testing.T) {
		u := e.AddUser(t, "leaver@acme.example", "member")
		link := resetLink(t, e, owner, u.ID)
		e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "inactive"})
		e.Do("POST", "/v1/users/"+u.ID+"/status", owner, map[string]string{"status": "active"})
		invalid(t, completeReset(e, link, "the-attackers-pass-1", nil))
	})
}

// TestAKeyAsksForARecentAuthentication: a session alone makes no key nor
// rotates one; the current password (counted like the profile's) or a
// code does, and the key's owner is mailed.
func TestAKeyAsksForARecentAuthentication(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, dev := e.AddUserLogin(t, "dev@acme.example", "admin")
	body := func(more map[string]any) map[string]any {
		b := map[string]any{"name": "CI", "client": "internal", "scopes": []string{"users:read"}}
		for k, v := range more {
			b[k] = v
		}
		return b
	}
	before := e.Scan(t)
	if p := e.Do("POST", "/v1/me/api-keys", dev, body(nil)).Problem(t, 422); p.Code != "validation_failed" {
		t.Fatal(p.Code)
	}
	if p := e.Do("POST", "/v1/me/api-keys", dev, body(map[string]any{"current_password": "not-my-password"})).Problem(t, 403); p.Code != "invalid_password" {
		t.Fatal(p.Code)
	}
	after := e.Scan(t)
	if d := diff(before, after); strings.Count(d, "\n") > 2 || !strings.Contains(d, "password#") {
		t.Fatalf("a refusal wrote more than its failure count:\n%s", d)
	}
	t.Run("wrong passwords lock like the profile's password change", func(t *testing.T) {
		for range 3 {
			e.Do("POST", "/v1/me/password", dev, map[string]string{"current_password": "wrong", "new_password": "whatever-pass-12"}).Problem(t, 403)
		}
		e.Do("POST", "/v1/me/api-keys", dev, body(map[string]any{"current_password": "still-wrong"})).Problem(t, 403)
		if p := e.Do("POST", "/v1/me/api-keys", dev, body(map[string]any{"current_password": apitest.UserPassword})).Problem(t, 429); p.Code != "too_many_attempts" {
			t.Fatal(p.Code)
		}
	})
	t.Run("the current password makes a key, and its owner hears of it", func(t *testing.T) {
		key := created(t, e, owner, "/v1/me/api-keys", body(map[string]any{"current_password": apitest.OwnerPassword}))
		m := e.Outbox.Messages()
		if len(m) == 0 || m[0].To[0] != e.Org.Owner.Email || !strings.Contains(m[0].Subject, "API key") || !strings.Contains(m[0].Text, key["prefix"].(string)) {
			t.Fatalf("no notice: %+v", m)
		}
		path := "/v1/me/api-keys/" + key["id"].(string) + "/rotate"
		e.Do("POST", path, owner, map[string]any{}).Problem(t, 422)
		created(t, e, owner, path, map[string]any{"current_password": apitest.OwnerPassword})
	})
	t.Run("with two-step verification, a code works once", func(t *testing.T) {
		secret := enrollTOTP(t, e, owner, apitest.OwnerPassword)
		e.Clock.Advance(30 * time.Second)
		code := gotp.NewDefaultTOTP(secret).At(e.Clock.Now().Unix())
		created(t, e, owner, "/v1/me/api-keys", body(map[string]any{"code": code}))
		if p := e.Do("POST", "/v1/me/api-keys", owner, body(map[string]any{"code": code})).Problem(t, 403); p.Code != "code_used" {
			t.Fatal(p.Code)
		}
	})
}

// TestAResetRevokesTheKeysByDefault: a password reset ends the account's
// keys unless asked not to.
func TestAResetRevokesTheKeysByDefault(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u, tok := e.AddUserLogin(t, "leaked@acme.example", "admin")
	works := func(key string) bool { return e.Do("GET", "/v1/users", key, nil).Status == 200 }
	mk := func() string {
		k := created(t, e, tok, "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal",
			"scopes": []string{"users:read"}, "current_password": apitest.UserPassword})
		return k["key"].(string)
	}
	kept := mk()
	if r := completeReset(e, resetLink(t, e, owner, u.ID), "second-pass-123", map[string]any{"revoke_api_keys": false}); r.Status != 204 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if !works(kept) {
		t.Fatal("revoke_api_keys false revoked the key")
	}
	tok = e.Login(t, "leaked@acme.example", "second-pass-123").AccessToken
	if r := completeReset(e, resetLink(t, e, owner, u.ID), "third-pass-1234", nil); r.Status != 204 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if works(kept) {
		t.Fatal("a reset kept the key")
	}
}

// TestInvitationsDoNotOutliveTheirInviter: deactivating or deleting a
// user revokes its pending invitations; an inviter lowered since cannot
// grant its invitation's role at acceptance, and nothing is written.
func TestInvitationsDoNotOutliveTheirInviter(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	accept := func(link string) *apitest.Response {
		return e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, link),
			"password": "a-fine-password-1", "first_name": "N", "last_name": "U"})
	}
	inviter := func(email string) (string, string) {
		u := e.AddUser(t, email, "admin")
		return u.ID, e.Login(t, email, apitest.UserPassword).AccessToken
	}
	for _, c := range []struct{ name, method, path string }{
		{"deactivation", "POST", "/status"},
		{"deletion", "DELETE", ""},
	} {
		t.Run(c.name+" revokes the pending invitations", func(t *testing.T) {
			id, tok := inviter(c.name + "@acme.example")
			inv := created(t, e, tok, "/v1/invitations", map[string]any{"email": "new-" + c.name + "@example.com", "role": "admin", "all_units": true})
			var body any
			if c.method == "POST" {
				body = map[string]string{"status": "inactive"}
			}
			if r := e.Do(c.method, "/v1/users/"+id+c.path, owner, body); r.Status >= 300 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if p := accept(inv["link"].(string)).Problem(t, 400); p.Code != "invalid_link" {
				t.Fatal(p.Code)
			}
			var list struct {
				Items []map[string]any `json:"items"`
			}
			e.Do("GET", "/v1/invitations", owner, nil).Decode(t, &list)
			for _, it := range list.Items {
				if it["id"] == inv["id"] && it["status"] != "revoked" {
					t.Fatalf("status %v", it["status"])
				}
			}
		})
	}
	t.Run("an inviter lowered since grants nothing", func(t *testing.T) {
		id, tok := inviter("lowered@acme.example")
		inv := created(t, e, tok, "/v1/invitations", map[string]any{"email": "too-high@example.com", "role": "admin", "all_units": true})
		if r := e.Do("PATCH", "/v1/users/"+id, owner, map[string]string{"role": "member"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		before := e.Scan(t)
		if p := accept(inv["link"].(string)).Problem(t, 403); p.Code != "inviter_cannot_grant" {
			t.Fatal(p.Code)
		}
		if d := diff(before, e.Scan(t)); d != "" {
			t.Fatalf("a refused acceptance wrote:\n%s", d)
		}
	})
	t.Run("an inviter still able to grants", func(t *testing.T) {
		_, tok := inviter("able@acme.example")
		inv := created(t, e, tok, "/v1/invitations", map[string]any{"email": "welcome@example.com", "role": "member", "all_units": true})
		if r := accept(inv["link"].(string)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestAnExportHoldsNoHashOfAUserAboveTheCaller: an admin's export with
// password hashes leaves the owner's empty (cracked offline, it would
// take the owner's account over); the owner's export holds every hash.
func TestAnExportHoldsNoHashOfAUserAboveTheCaller(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, admin := e.AddUserLogin(t, "exporter@acme.example", "admin")
	hashes := func(tok string) map[string]string {
		r := e.Do("GET", "/v1/users/export?include_password_hashes=true&format=jsonl", tok, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		out := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(r.Body)), "\n") {
			var rec struct {
				Email string `json:"email"`
				Hash  string `json:"password_hash"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			out[rec.Email] = rec.Hash
		}
		return out
	}
	if h := hashes(admin); h[e.Org.Owner.Email] != "" || h["exporter@acme.example"] == "" {
		t.Fatalf("admin's export: %v", h)
	}
	if h := hashes(owner); h[e.Org.Owner.Email] == "" || h["exporter@acme.example"] == "" {
		t.Fatalf("owner's export: %v", h)
	}
}

// TestANewInvitationLinkGoesOnlyToWhoCouldInvite: a user who may invite
// but not grant admin gets no new link of an admin's invitation (whoever
// holds the link may accept it), and nothing is written.
func TestANewInvitationLinkGoesOnlyToWhoCouldInvite(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Recruiters", "permissions": []string{"invitations:write"}})
	e.AddUser(t, "recruiter@acme.example", role["id"].(string))
	recruiter := e.Login(t, "recruiter@acme.example", apitest.UserPassword).AccessToken
	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "future-admin@example.com", "role": "admin", "all_units": true})
	before := e.Scan(t)
	for _, path := range []string{"/link", "/resend"} {
		if p := e.Do("POST", "/v1/invitations/"+inv["id"].(string)+path, recruiter, nil).Problem(t, 403); p.Code != "permission_escalation" {
			t.Fatal(p.Code)
		}
	}
	if d := diff(before, e.Scan(t)); d != "" {
		t.Fatalf("a refusal wrote:\n%s", d)
	}
	if r := e.Do("POST", "/v1/invitations/"+inv["id"].(string)+"/link", owner, nil); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

// TestASessionAloneTiesNoAuthenticator: turning two-step verification on
// asks for the current password, so a stolen session cannot tie the
// account to the thief's authenticator.
func TestASessionAloneTiesNoAuthenticator(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	_, tok := e.AddUserLogin(t, "victim@acme.example", "member")
	var st struct {
		Secret string `json:"secret"`
	}
	e.Do("POST", "/v1/me/mfa/totp", tok, nil).Decode(t, &st)
	code := gotp.NewDefaultTOTP(st.Secret).At(e.Clock.Now().Unix())
	e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code}).Problem(t, 422)
	if p := e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code, "current_password": "a-guess-1234"}).Problem(t, 403); p.Code != "invalid_password" {
		t.Fatal(p.Code)
	}
	enrollTOTP(t, e, tok, apitest.UserPassword)
}
