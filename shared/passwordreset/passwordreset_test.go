package passwordreset_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
)

func request(e *apitest.Env, email string) *apitest.Response {
	return e.Do("POST", "/v1/password-resets", "", map[string]string{"email": email})
}

func complete(e *apitest.Env, token, pw string) *apitest.Response {
	return e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": token, "password": pw})
}

func TestForgotPassword(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	old := e.LoginOwner(t)

	t.Run("an unknown address and a known one get the same answer", func(t *testing.T) {
		known, unknown := request(e, "owner@acme.example"), request(e, "ghost@acme.example")
		if known.Status != 202 || unknown.Status != 202 || !bytes.Equal(known.Body, unknown.Body) {
			t.Fatalf("%d %s / %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
		}
		if n := len(e.Outbox.Messages()); n != 1 {
			t.Fatalf("%d mails", n)
		}
	})
	first := e.LastMail(t, "owner@acme.example")
	request(e, "OWNER@acme.example")
	second := e.LastMail(t, "owner@acme.example")
	t.Run("the mail carries a link to the reset page", func(t *testing.T) {
		if len(second.Links) == 0 || !strings.HasPrefix(second.Links[0], "http://guichet.test/reset?token=grs_") {
			t.Fatalf("%v", second.Links)
		}
	})
	t.Run("a new request invalidates the older link", func(t *testing.T) {
		if p := complete(e, apitest.LinkToken(t, first.Links[0]), "brand-new-secret-42").Problem(t, 400); p.Code != "invalid_link" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a weak password is refused and the link still works", func(t *testing.T) {
		complete(e, apitest.LinkToken(t, second.Links[0]), "password1").Problem(t, 422)
		complete(e, apitest.LinkToken(t, second.Links[0]), "owner@acme.example").Problem(t, 422)
	})
	t.Run("completing sets the password and ends every session", func(t *testing.T) {
		if r := complete(e, apitest.LinkToken(t, second.Links[0]), "brand-new-secret-42"); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("GET", "/v1/me", old.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": old.RefreshToken}).Problem(t, 401)
		e.Login(t, "owner@acme.example", "brand-new-secret-42")
		if m := e.LastMail(t, "owner@acme.example"); !strings.Contains(m.Subject, "password was changed") {
			t.Fatalf("no notice: %s", m.Subject)
		}
	})
	t.Run("a used link says so", func(t *testing.T) {
		if p := complete(e, apitest.LinkToken(t, second.Links[0]), "another-secret-43").Problem(t, 410); p.Code != "link_used" {
			t.Fatal(p.Code)
		}
	})
	t.Run("an expired link says so", func(t *testing.T) {
		request(e, "owner@acme.example")
		link := e.LastMail(t, "owner@acme.example").Links[0]
		e.Clock.Advance(61 * time.Minute)
		if p := complete(e, apitest.LinkToken(t, link), "another-secret-43").Problem(t, 410); p.Code != "link_expired" {
			t.Fatal(p.Code)
		}
	})
	t.Run("forged and malformed tokens are refused", func(t *testing.T) {
		for _, tok := range []string{"", "grs_x", "grs_" + strings.Repeat("A", 43), "giv_" + strings.Repeat("A", 43)} {
			if r := complete(e, tok, "another-secret-43"); r.Status != 400 && r.Status != 422 {
				t.Fatalf("%q: %d", tok, r.Status)
			}
		}
	})
}

func TestResetIsRateLimited(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	for range 5 {
		if r := request(e, "someone@example.com"); r.Status != 202 {
			t.Fatalf("%d", r.Status)
		}
	}
	t.Run("a sixth request for one address within the hour is refused", func(t *testing.T) {
		r := request(e, "someone@example.com")
		r.Problem(t, 429)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
	t.Run("the limit ends by itself", func(t *testing.T) {
		e.Clock.Advance(61 * time.Minute)
		if r := request(e, "someone@example.com"); r.Status != 202 {
			t.Fatalf("%d", r.Status)
		}
	})
	t.Run("one client is limited across addresses", func(t *testing.T) {
		var last *apitest.Response
		for i := range 31 {
			last = request(e, "user"+string(rune('a'+i%26))+"@example.com")
		}
		last.Problem(t, 429)
	})
}

func TestAdminResetLink(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := e.AddUser(t, "forgetful@acme.example", "member")
	var out struct {
		Link     string `json:"link"`
		MailSent bool   `json:"mail_sent"`
	}
	r := e.Do("POST", "/v1/users/"+u.ID+"/password-reset", owner, map[string]bool{"send_email": false})
	r.Decode(t, &out)
	if r.Status != 200 || out.MailSent || len(e.Outbox.Messages()) != 0 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if r := complete(e, apitest.LinkToken(t, out.Link), "a-whole-new-pass-1"); r.Status != 204 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Login(t, "forgetful@acme.example", "a-whole-new-pass-1")
	t.Run("with send_email the link is mailed too", func(t *testing.T) {
		e.Do("POST", "/v1/users/"+u.ID+"/password-reset", owner, map[string]bool{"send_email": true}).Decode(t, &out)
		if !out.MailSent || e.LastMail(t, "forgetful@acme.example").Links[0] != out.Link {
			t.Fatal("not mailed")
		}
	})
	t.Run("username users get a PIN instead", func(t *testing.T) {
		var c struct{ ID string }
		e.Do("POST", "/v1/users", owner, map[string]any{"username": "pinuser", "password": "481937", "first_name": "P", "last_name": "U", "role": "member"}).Decode(t, &c)
		e.Do("POST", "/v1/users/"+c.ID+"/password-reset", owner, map[string]bool{"send_email": true}).Problem(t, 422)
	})
	t.Run("a member cannot", func(t *testing.T) {
		member := e.Login(t, "forgetful@acme.example", "a-whole-new-pass-1").AccessToken
		e.Do("POST", "/v1/users/"+e.Org.Owner.ID+"/password-reset", member, map[string]bool{}).Problem(t, 403)
	})
}

// A reset tells the user as a password change does: only when its
// password_changed switch is on.
func TestResetCompletionHonoursThePasswordChangedSwitch(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "ada@acme.example", "member")
	reset := func(t *testing.T, pw string) {
		t.Helper()
		if r := request(e, u.Email); r.Status != 202 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		link := e.LastMail(t, u.Email)
		if r := complete(e, apitest.LinkToken(t, link.Links[0]), pw); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	t.Run("with the switch at its default (on) the notice goes", func(t *testing.T) {
		n := e.MailsTo(u.Email)
		reset(t, "brand-new-secret-42")
		if e.MailsTo(u.Email) != n+2 || !strings.Contains(e.LastMail(t, u.Email).Subject, "password was changed") {
			t.Fatalf("%d mails after %d; last %q", e.MailsTo(u.Email), n, e.LastMail(t, u.Email).Subject)
		}
	})
	t.Run("with the switch off only the reset link goes", func(t *testing.T) {
		tok := e.Login(t, u.Email, "brand-new-secret-42").AccessToken
		if r := e.Do("PATCH", "/v1/me", tok, map[string]any{"notifications": map[string]any{"password_changed": map[string]bool{"email": false}}}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		n := e.MailsTo(u.Email)
		reset(t, "another-secret-43")
		if e.MailsTo(u.Email) != n+1 || strings.Contains(e.LastMail(t, u.Email).Subject, "password was changed") {
			t.Fatalf("%d mails after %d; last %q", e.MailsTo(u.Email), n, e.LastMail(t, u.Email).Subject)
		}
		e.Login(t, u.Email, "another-secret-43")
	})
}
