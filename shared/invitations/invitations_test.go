package invitations_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/route"
)

func invite(t *testing.T, e *apitest.Env, token string, body map[string]any) invitations.WithLink {
	t.Helper()
	return apitest.Want[invitations.WithLink](t, e.Do("POST", "/v1/invitations", token, body), http.StatusCreated, "invite")
}

func accept(e *apitest.Env, token string) *apitest.Response {
	return e.Do("POST", "/v1/invitations/accept", "", map[string]string{
		"token": token, "password": "a-fine-password-7", "first_name": "Grace", "last_name": "Hopper"})
}

func TestInvitationLifecycle(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	w := invite(t, e, owner, map[string]any{"email": "Grace@Example.com", "role": "admin", "all_units": true, "language": "fr"})
	if w.Status != "pending" || !w.MailSent || !strings.HasPrefix(w.Link, "http://guichet.test/invite?token=giv_") {
		t.Fatalf("%+v", w)
	}

	t.Run("the e-mail carries the link, in the invitation's language", func(t *testing.T) {
		msgs := e.Outbox.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "Grace@example.com" || !strings.Contains(msgs[0].Subject, "vous invite") {
			t.Fatalf("%+v", msgs)
		}
		if len(msgs[0].Links) == 0 || msgs[0].Links[0] != w.Link {
			t.Fatalf("links %v, want %s", msgs[0].Links, w.Link)
		}
	})
	t.Run("a second invitation to the same address is a conflict", func(t *testing.T) {
		if p := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "grace@example.com", "role": "member"}).Problem(t, 409); p.Code != "invitation_pending" {
			t.Fatal(p.Code)
		}
	})
	t.Run("inviting an existing user is a conflict", func(t *testing.T) {
		if p := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "owner@acme.example", "role": "member"}).Problem(t, 409); p.Code != "user_exists" {
			t.Fatal(p.Code)
		}
	})
	t.Run("the preview tells what the link invites to", func(t *testing.T) {
		var pv invitations.Preview
		r := e.Do("GET", "/v1/invitations/preview?token="+url.QueryEscape(apitest.LinkToken(t, w.Link)), "", nil)
		r.Decode(t, &pv)
		if r.Status != 200 || pv.Organization != "Acme" || pv.Email != "Grace@example.com" || pv.Role != "admin" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})

	var renewed invitations.WithLink
	t.Run("a regenerated link kills the old one", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations/"+w.ID+"/link", owner, nil)
		r.Decode(t, &renewed)
		if r.Status != 200 || renewed.Link == w.Link || renewed.MailSent {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if p := accept(e, apitest.LinkToken(t, w.Link)).Problem(t, 400); p.Code != "invalid_link" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a weak password is refused and nothing is used", func(t *testing.T) {
		for _, pw := range []string{"short", "password123", "grace"} {
			e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, renewed.Link), "password": pw,
				"first_name": "G", "last_name": "H"}).Problem(t, 422)
		}
	})
	t.Run("accepting creates the account and signs it in", func(t *testing.T) {
		r := accept(e, apitest.LinkToken(t, renewed.Link))
		var tok apitest.Tokens
		r.Decode(t, &tok)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var me struct {
			Email     string `json:"email"`
			Role      string `json:"role"`
			FirstName string `json:"first_name"`
		}
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Decode(t, &me)
		if me.Email != "Grace@example.com" || me.Role != "admin" || me.FirstName != "Grace" {
			t.Fatalf("%+v", me)
		}
		e.Login(t, "grace@example.com", "a-fine-password-7")
	})
	t.Run("a used link says so", func(t *testing.T) {
		if p := accept(e, apitest.LinkToken(t, renewed.Link)).Problem(t, 410); p.Code != "link_used" {
			t.Fatal(p.Code)
		}
		e.Do("GET", "/v1/invitations/preview?token="+url.QueryEscape(apitest.LinkToken(t, renewed.Link)), "", nil).Problem(t, 410)
	})
	t.Run("the list shows it accepted", func(t *testing.T) {
		var page invitations.Page
		e.Do("GET", "/v1/invitations?status=accepted", owner, nil).Decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].UserID == "" {
			t.Fatalf("%+v", page)
		}
	})
}

func TestInvitationExpiryAndRevocation(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	w := invite(t, e, owner, map[string]any{"email": "late@example.com", "role": "member"})
	e.Clock.Advance(7*24*time.Hour + time.Minute)
	owner = e.LoginOwner(t).AccessToken // the old session's access token expired too
	t.Run("an expired link says so", func(t *testing.T) {
		if p := accept(e, apitest.LinkToken(t, w.Link)).Problem(t, 410); p.Code != "link_expired" {
			t.Fatal(p.Code)
		}
	})
	t.Run("an expired invitation is listed as expired", func(t *testing.T) {
		var page invitations.Page
		e.Do("GET", "/v1/invitations?status=expired", owner, nil).Decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Status != "expired" {
			t.Fatalf("%+v", page)
		}
	})
	t.Run("the address can be invited again once expired", func(t *testing.T) {
		w2 := invite(t, e, owner, map[string]any{"email": "late@example.com", "role": "member"})
		if r := e.Do("DELETE", "/v1/invitations/"+w2.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if p := accept(e, apitest.LinkToken(t, w2.Link)).Problem(t, 400); p.Code != "invalid_link" {
			t.Fatal(p.Code)
		}
		e.Do("DELETE", "/v1/invitations/"+w2.ID, owner, nil).Problem(t, 409)
	})
}

func TestConcurrentAcceptsMakeOneAccount(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	w := invite(t, e, owner, map[string]any{"email": "race@example.com", "role": "member"})
	tok := apitest.LinkToken(t, w.Link)
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = accept(e, tok).Status }()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 410, 400, 409:
		default:
			t.Fatalf("status %d", s)
		}
	}
	var page struct{ Items []struct{ Email string } }
	e.Do("GET", "/v1/users?q=race", owner, nil).Decode(t, &page)
	if won != 1 || len(page.Items) != 1 {
		t.Fatalf("%d accepts won, %d accounts", won, len(page.Items))
	}
}

func TestInvitationRules(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	t.Run("a member cannot invite", func(t *testing.T) {
		e.Do("POST", "/v1/invitations", member, map[string]any{"email": "x@example.com", "role": "member"}).Problem(t, 403)
	})
	t.Run("bad input is refused", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"email": "nope", "role": "member"},
			{"email": "a@example.com"},
			{"email": "a@example.com", "role": "owner"},
			{"email": "a@example.com", "role": "rol_ghost"},
			{"email": "a@example.com", "role": "member", "language": "de"},
			{"email": "a@example.com", "role": "member", "units": []string{"unt_a"}, "all_units": true},
		} {
			e.Do("POST", "/v1/invitations", owner, body).Problem(t, 422)
		}
		for _, q := range []string{"?status=lost", "?limit=0", "?cursor=bad"} {
			if r := e.Do("GET", "/v1/invitations"+q, owner, nil); r.Status != 422 && r.Status != 400 {
				t.Fatalf("%s: %d", q, r.Status)
			}
		}
		for _, tok := range []string{"", "giv_short", "gsn_" + strings.Repeat("A", 43)} {
			e.Do("GET", "/v1/invitations/preview?token="+tok, "", nil).Problem(t, 400)
		}
	})
	t.Run("mail failing does not lose the invitation", func(t *testing.T) {
		e.Outbox.Fail(true)
		defer e.Outbox.Fail(false)
		w := invite(t, e, owner, map[string]any{"email": "nomail@example.com", "role": "member"})
		if w.MailSent || w.Link == "" {
			t.Fatalf("%+v", w)
		}
		if r := accept(e, apitest.LinkToken(t, w.Link)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("another organization's invitation is not found", func(t *testing.T) {
		w := invite(t, e, owner, map[string]any{"email": "mine@example.com", "role": "member"})
		if _, _, err := e.Seed(t.Context(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
			t.Fatal(err)
		}
		other := e.Login(t, "boss@other.example", "other-password-123").AccessToken
		e.Do("DELETE", "/v1/invitations/"+w.ID, other, nil).Problem(t, 404)
		e.Do("POST", "/v1/invitations/"+w.ID+"/link", other, nil).Problem(t, 404)
	})
	// The fourth call reads the inviter; the fifth counts its notice
	// against the mail limits.
	t.Run("accepting is at most five DynamoDB calls (the inviter read and its notice counted)", func(t *testing.T) {
		w := invite(t, e, owner, map[string]any{"email": "budget@example.com", "role": "member"})
		e.ResetCounters()
		if r := accept(e, apitest.LinkToken(t, w.Link)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if n := e.Counters[route.Invitations].Calls(); n > 5 {
			t.Fatalf("%d calls: %v", n, e.Counters[route.Invitations].Operations())
		}
	})
}
