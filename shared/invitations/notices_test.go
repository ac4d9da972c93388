package invitations_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/invitations"
)

// mailsTo returns the messages to address, newest first.
func mailsTo(e *apitest.Env, address string) []string {
	var out []string
	for _, m := range e.Outbox.Messages() {
		if strings.EqualFold(m.To[0], address) {
			out = append(out, m.Subject+"\n"+m.Text+"\n"+m.HTML)
		}
	}
	return out
}

func TestTheInviterIsToldOfAnAcceptedInvitation(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	inviter, tok := e.AddUserLogin(t, "inviter@acme.example", "admin")
	if r := e.Do("PATCH", "/v1/me", tok, map[string]any{"language": "fr"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	t.Run("in the inviter's language, naming the new member, its address, role and the organization", func(t *testing.T) {
		w := invite(t, e, tok, map[string]any{"email": "grace@example.com", "role": "member", "language": "en"})
		before := len(mailsTo(e, inviter.Email))
		if r := accept(e, apitest.LinkToken(t, w.Link)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		got := mailsTo(e, inviter.Email)
		if len(got) != before+1 {
			t.Fatalf("%d mails to the inviter, want %d", len(got), before+1)
		}
		for _, want := range []string{"Grace Hopper a rejoint Acme", "grace@example.com", "en tant que Membre", "Bonjour Test admin"} {
			if !strings.Contains(got[0], want) {
				t.Fatalf("the notice lacks %q:\n%s", want, got[0])
			}
		}
		if len(mailsTo(e, "grace@example.com")) != 1 { // the invitation only
			t.Fatal("the new member got a notice")
		}
	})
	t.Run("not when the inviter switched it off", func(t *testing.T) {
		r := e.Do("PATCH", "/v1/me", tok, map[string]any{"notifications": map[string]any{"invitation_accepted": map[string]bool{"email": false}}})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		w := invite(t, e, tok, map[string]any{"email": "linus@example.com", "role": "member"})
		before := len(mailsTo(e, inviter.Email))
		if r := accept(e, apitest.LinkToken(t, w.Link)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if n := len(mailsTo(e, inviter.Email)); n != before {
			t.Fatalf("%d mails to the inviter, want %d", n, before)
		}
		e.Do("PATCH", "/v1/me", tok, map[string]any{"notifications": map[string]any{"invitation_accepted": map[string]bool{"email": true}}})
	})
	t.Run("a mail that cannot go does not fail the acceptance", func(t *testing.T) {
		w := invite(t, e, tok, map[string]any{"email": "ken@example.com", "role": "member"})
		e.Outbox.Fail(true)
		r := accept(e, apitest.LinkToken(t, w.Link))
		e.Outbox.Fail(false)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Login(t, "ken@example.com", "a-fine-password-7")
	})
	t.Run("the notices count against the inviter's address: past 5 an hour, the acceptance stands without one", func(t *testing.T) {
		e.Clock.Advance(time.Hour) // a new window for the inviter's address
		tok = e.Login(t, inviter.Email, apitest.UserPassword).AccessToken
		before := len(mailsTo(e, inviter.Email))
		for i := range 6 {
			w := invite(t, e, tok, map[string]any{"email": "many" + string(rune('a'+i)) + "@example.com", "role": "member"})
			if r := accept(e, apitest.LinkToken(t, w.Link)); r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		}
		if n := len(mailsTo(e, inviter.Email)) - before; n != 5 {
			t.Fatalf("%d notices in the hour, want 5", n)
		}
	})
	t.Run("an invitation of the organization's first owner tells no one", func(t *testing.T) {
		// Invited by the system (organization creation): no inviter to tell;
		// the owner seeded by the stack accepted such an invitation.
		if n := len(mailsTo(e, e.Org.Owner.Email)); n != 0 {
			t.Fatalf("%d mails to the seeded owner", n)
		}
	})
}

func TestInvitationsNameTheRole(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	var role struct {
		ID string `json:"id"`
	}
	apitest.Want[map[string]any](t, e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Dispatcher", "permissions": []string{"users:read"}}), http.StatusCreated, "role")
	e.Do("GET", "/v1/roles", owner, nil)
	var roles struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	e.Do("GET", "/v1/roles", owner, nil).Decode(t, &roles)
	for _, r := range roles.Items {
		if r.Name == "Dispatcher" {
			role.ID = r.ID
		}
	}
	cases := []struct {
		name, role, lang, want string
	}{
		{"a built-in role in English", "member", "en", "as Member"},
		{"a built-in role in French", "admin", "fr", "en tant que Administrateur"},
		{"a built-in role in Dutch", "member", "nl", "als Lid"},
		{"a custom role by its name", role.ID, "nl", "als Dispatcher"},
	}
	for i, c := range cases {
		t.Run(c.name+": the mail says "+c.want+", never the role's id", func(t *testing.T) {
			email := "person" + string(rune('a'+i)) + "@example.com"
			w := invite(t, e, owner, map[string]any{"email": email, "role": c.role, "language": c.lang})
			m := e.LastMail(t, email)
			for _, part := range []string{m.Text, m.HTML} {
				if !strings.Contains(part, c.want) || strings.Contains(part, " "+c.role+".") || strings.Contains(part, " "+c.role+"<") {
					t.Fatalf("want %q in:\n%s", c.want, part)
				}
			}
			var pv invitations.Preview
			e.Do("GET", "/v1/invitations/preview?token="+url.QueryEscape(apitest.LinkToken(t, w.Link)), "", nil).Decode(t, &pv)
			if !strings.HasSuffix(c.want, pv.RoleName) || pv.Role != c.role {
				t.Fatalf("preview names %q (%s), want the end of %q", pv.RoleName, pv.Role, c.want)
			}
			t.Run("and the resent mail too", func(t *testing.T) {
				apitest.Want[map[string]any](t, e.Do("POST", "/v1/invitations/"+w.ID+"/resend", owner, nil), 200, "resend")
				if m := e.LastMail(t, email); !strings.Contains(m.Text, c.want) {
					t.Fatalf("want %q in:\n%s", c.want, m.Text)
				}
			})
		})
	}
}
