package profile_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
)

func requestEmail(e *apitest.Env, tok, email, pw string) *apitest.Response {
	return e.Do("POST", "/v1/me/email", tok, map[string]string{"new_email": email, "password": pw})
}

func confirmEmail(e *apitest.Env, token string) *apitest.Response {
	return e.Do("POST", "/v1/me/email/confirm", "", map[string]string{"token": token})
}

func TestChangeMyEmail(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "old@acme.example", "member")
	tok := e.Login(t, u.Email, apitest.UserPassword).AccessToken

	t.Run("a wrong password is 403", func(t *testing.T) {
		if p := requestEmail(e, tok, "new@acme.example", "nope-nope-nope").Problem(t, 403); p.Code != "invalid_password" {
			t.Fatal(p.Code)
		}
	})
	t.Run("an address that is a login already answers 202 too, and only its holder hears of it", func(t *testing.T) {
		before := e.Scan(t)
		r := requestEmail(e, tok, "OWNER@acme.example", apitest.UserPassword)
		if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), "confirmation link is on its way") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		notice := e.LastMail(t, "owner@acme.example")
		if !strings.Contains(notice.Subject, "tried to use your address") || strings.Contains(notice.Text, "/email/confirm") {
			t.Fatalf("%q %q", notice.Subject, notice.Text)
		}
		// Counters aside (the current password's attempt and the notice's
		// mail limit, which an untaken address counts the same way), nothing
		// is written: no link, no pending change.
		if after := e.Scan(t); !slices.Equal(withoutCounters(before), withoutCounters(after)) {
			t.Fatalf("a request for a taken address wrote something:\n%v\n%v", withoutCounters(before), withoutCounters(after))
		}
	})
	t.Run("a malformed address is 422", func(t *testing.T) {
		requestEmail(e, tok, "not an address", apitest.UserPassword).Problem(t, 422)
	})
	first := requestEmail(e, tok, "new@acme.example", apitest.UserPassword)
	if first.Status != http.StatusAccepted {
		t.Fatalf("%d %s", first.Status, first.Body)
	}
	firstMail := e.LastMail(t, "new@acme.example")
	t.Run("the link goes to the new address, and the old one stays the login", func(t *testing.T) {
		if len(firstMail.Links) == 0 || !strings.HasPrefix(firstMail.Links[0], "http://guichet.test/email/confirm?token=gem_") {
			t.Fatalf("%v", firstMail.Links)
		}
		if e.MailsTo("old@acme.example") != 0 {
			t.Fatal("mail to the old address before the change")
		}
		e.Login(t, "old@acme.example", apitest.UserPassword)
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "new@acme.example", "password": apitest.UserPassword}).Problem(t, 401)
	})
	requestEmail(e, tok, "new@acme.example", apitest.UserPassword)
	second := e.LastMail(t, "new@acme.example")
	t.Run("a new request replaces the older link", func(t *testing.T) {
		if p := confirmEmail(e, apitest.LinkToken(t, firstMail.Links[0])).Problem(t, 400); p.Code != "invalid_link" {
			t.Fatal(p.Code)
		}
	})
	t.Run("confirming switches the login and notifies the old address", func(t *testing.T) {
		r := confirmEmail(e, apitest.LinkToken(t, second.Links[0]))
		if r.Status != 200 || !strings.Contains(string(r.Body), "new@acme.example") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "old@acme.example", "password": apitest.UserPassword}).Problem(t, 401)
		e.Login(t, "new@acme.example", apitest.UserPassword)
		if m := me(t, e, tok); m["email"] != "new@acme.example" || m["login"] != "new@acme.example" {
			t.Fatalf("%v", m)
		}
		notice := e.LastMail(t, "old@acme.example")
		if !strings.Contains(notice.Subject, "login changed") || !strings.Contains(notice.Text, "new@acme.example") {
			t.Fatalf("%q %q", notice.Subject, notice.Text)
		}
	})
	t.Run("the link works once", func(t *testing.T) {
		if p := confirmEmail(e, apitest.LinkToken(t, second.Links[0])).Problem(t, 410); p.Code != "link_used" {
			t.Fatal(p.Code)
		}
	})
	t.Run("the old address is free again", func(t *testing.T) {
		other := e.AddUser(t, "other@acme.example", "member")
		otok := e.Login(t, other.Email, apitest.UserPassword).AccessToken
		if r := requestEmail(e, otok, "old@acme.example", apitest.UserPassword); r.Status != 202 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a link expires after 24 hours", func(t *testing.T) {
		requestEmail(e, tok, "later@acme.example", apitest.UserPassword)
		link := e.LastMail(t, "later@acme.example").Links[0]
		e.Clock.Advance(24*time.Hour + time.Minute)
		if p := confirmEmail(e, apitest.LinkToken(t, link)).Problem(t, 410); p.Code != "link_expired" {
			t.Fatal(p.Code)
		}
	})
	t.Run("a forged token is 400", func(t *testing.T) {
		confirmEmail(e, "gem_"+strings.Repeat("A", 43)).Problem(t, 400)
		confirmEmail(e, "grs_"+strings.Repeat("A", 43)).Problem(t, 400)
	})
}

func TestTwoUsersClaimingOneAddressAtOnceOneWins(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	for round := range 3 {
		target := "wanted" + string(rune('a'+round)) + "@acme.example"
		var links []string
		for i := range 2 {
			u := e.AddUser(t, "claimant"+string(rune('a'+round))+string(rune('0'+i))+"@acme.example", "member")
			tok := e.Login(t, u.Email, apitest.UserPassword).AccessToken
			if r := requestEmail(e, tok, target, apitest.UserPassword); r.Status != 202 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			links = append(links, e.LastMail(t, target).Links[0])
		}
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, link := range links {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i] = confirmEmail(e, apitest.LinkToken(t, link)).Status
			}()
		}
		close(start)
		wg.Wait()
		ok, taken := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 409:
				taken++
			}
		}
		if ok != 1 || taken != 1 {
			t.Fatalf("round %d: statuses %v, want one 200 and one 409", round, statuses)
		}
		e.Login(t, target, apitest.UserPassword)
	}
}

// withoutCounters drops rate-limit and lockout counters (pk RL#…) from a
// table dump.
func withoutCounters(items []string) []string {
	var out []string
	for _, it := range items {
		if !strings.Contains(it, `"pk":{"Value":"RL#`) {
			out = append(out, it)
		}
	}
	return out
}
