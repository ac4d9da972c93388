package gateway_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/ratelimit"
)

// tooManyMails checks a 429 too_many_mails problem whose Retry-After is
// at most the window of the limit reached.
func tooManyMails(t *testing.T, r *apitest.Response, window time.Duration) {
	t.Helper()
	p := r.Problem(t, 429)
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if p.Code != "too_many_mails" || err != nil || wait < 1 || wait > int(window/time.Second) {
		t.Fatalf("%s %v", p.Code, r.Header)
	}
}

// TestMailRoutesAreRateLimited: every route that mails an address stops at
// the address's limit with a 429 and Retry-After, mailing nothing more;
// the public forgot-password route stops mailing silently.
func TestMailRoutesAreRateLimited(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("an e-mail change mails one address at most PerAddress times", func(t *testing.T) {
		for i := range ratelimit.PerAddress + 2 {
			r := e.Do("POST", "/v1/me/email", owner, map[string]string{"new_email": "victim@example.com", "password": apitest.OwnerPassword})
			if i < ratelimit.PerAddress {
				if r.Status != 202 {
					t.Fatalf("%d: %d %s", i, r.Status, r.Body)
				}
				continue
			}
			tooManyMails(t, r, time.Hour)
		}
		if n := e.MailsTo("victim@example.com"); n != ratelimit.PerAddress {
			t.Fatalf("%d mails", n)
		}
	})
	t.Run("an invitation's resends stop at the address's limit", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "invitee@example.com", "role": "member"})
		var inv struct{ ID string }
		r.Decode(t, &inv)
		for i := 1; i < ratelimit.PerAddress; i++ {
			if r := e.Do("POST", "/v1/invitations/"+inv.ID+"/resend", owner, nil); r.Status != 200 {
				t.Fatalf("%d: %d %s", i, r.Status, r.Body)
			}
		}
		before := e.Scan(t)
		tooManyMails(t, e.Do("POST", "/v1/invitations/"+inv.ID+"/resend", owner, nil), time.Hour)
		if n := e.MailsTo("invitee@example.com"); n != ratelimit.PerAddress {
			t.Fatalf("%d mails", n)
		}
		if after := e.Scan(t); len(after) != len(before) {
			t.Fatal("a refused resend wrote")
		}
	})
	t.Run("admin reset links stop at the limit, and forgot-password then answers the same, mailing nothing", func(t *testing.T) {
		u := e.AddUser(t, "target@example.com", "member")
		for i := range ratelimit.PerAddress {
			if r := e.Do("POST", "/v1/users/"+u.ID+"/password-reset", owner, map[string]bool{"send_email": true}); r.Status != 200 {
				t.Fatalf("%d: %d %s", i, r.Status, r.Body)
			}
		}
		tooManyMails(t, e.Do("POST", "/v1/users/"+u.ID+"/password-reset", owner, map[string]bool{"send_email": true}), time.Hour)
		known := e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "target@example.com"})
		unknown := e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "nobody@example.com"})
		if known.Status != unknown.Status || string(known.Body) != string(unknown.Body) {
			t.Fatalf("%d %s / %d %s", known.Status, known.Body, unknown.Status, unknown.Body)
		}
		if n := e.MailsTo("target@example.com"); n != ratelimit.PerAddress {
			t.Fatalf("%d mails", n)
		}
	})
}

// TestMailLimitHoldsUnderConcurrency: the counters are conditional ADDs, so
// requests racing on one address cannot pass its limit together.
func TestMailLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.Do("POST", "/v1/me/email", owner, map[string]string{"new_email": "race@example.com", "password": apitest.OwnerPassword})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := e.MailsTo("race@example.com"); n > ratelimit.PerAddress || statuses[202] > ratelimit.PerAddress || statuses[429] == 0 {
		t.Fatalf("%d mails, statuses %v", n, statuses)
	}
}

// TestMailLimitPerUser: one user's actions mail at most PerUser addresses
// an hour, whatever the addresses.
func TestMailLimitPerUser(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for i := range ratelimit.PerUser {
		r := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "role": "member"})
		if r.Status != 201 {
			t.Fatalf("%d: %d %s", i, r.Status, r.Body)
		}
	}
	before := e.Scan(t)
	tooManyMails(t, e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "one-more@example.com", "role": "member"}), time.Hour)
	if strings.Join(e.Scan(t), "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused invitation wrote")
	}
	tooManyMails(t, e.Do("POST", "/v1/me/email", owner, map[string]string{"new_email": "fresh@example.com", "password": apitest.OwnerPassword}), time.Hour)
}

// TestMailLimitPerOrganizationBoundsImports: an import with invitations
// counts each set-password mail against the organization, and one past the
// limit is refused whole before any user is written.
func TestMailLimitPerOrganizationBoundsImports(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	importRows := func(prefix string, n int) *apitest.Response {
		var b strings.Builder
		b.WriteString("email,first_name,last_name,role\n")
		for i := range n {
			fmt.Fprintf(&b, "%s%d@example.com,F,L,member\n", prefix, i)
		}
		return e.DoHeader("POST", "/v1/users/import?send_invitations=true", map[string]string{"Content-Type": "text/csv",
			"Authorization": "Bearer " + owner, "User-Agent": "apitest"}, b.String())
	}
	if r := importRows("a", ratelimit.PerOrg-1); r.Status != 200 {
		t.Fatalf("%d %.300s", r.Status, r.Body)
	}
	before := e.Scan(t)
	tooManyMails(t, importRows("b", 2), ratelimit.OrgWindow)
	if strings.Join(e.Scan(t), "\n") != strings.Join(before, "\n") {
		t.Fatal("a refused import wrote")
	}
}
