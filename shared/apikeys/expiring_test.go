package apikeys_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apikeys"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
)

// expiringMails lists the "expires soon" notices of the outbox, as
// "address: subject", sorted.
func expiringMails(e *apitest.Env) []string {
	var out []string
	for _, m := range e.Outbox.Messages() {
		if strings.Contains(m.Subject, "expires on") || strings.Contains(m.Subject, "expire le") || strings.Contains(m.Subject, "vervalt op") {
			out = append(out, m.To[0]+": "+m.Subject)
		}
	}
	slices.Sort(out)
	return out
}

func TestExpiringKeysAreAnnouncedOnce(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ctx := context.Background()
	ada, adaTok := e.AddUserLogin(t, "ada@acme.example", "admin")
	fr, frTok := e.AddUserLogin(t, "francoise@acme.example", "admin")
	if r := e.Do("PATCH", "/v1/me", frTok, map[string]any{"language": "fr"}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	quiet, quietTok := e.AddUserLogin(t, "quiet@acme.example", "admin")
	if r := e.Do("PATCH", "/v1/me", quietTok, map[string]any{"notifications": map[string]any{"api_key_expiring": map[string]bool{"email": false}}}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	key := func(t *testing.T, tok, name string, in time.Duration) apikeys.NewAPIKey {
		t.Helper()
		body := withPassword(t, e, tok, keyBody(name, "comax", "users:read"))
		if in > 0 {
			body["expires_at"] = e.Clock.Now().Add(in).UTC().Format(time.RFC3339)
		}
		return apitest.Want[apikeys.NewAPIKey](t, e.Do("POST", "/v1/me/api-keys", tok, body), http.StatusCreated, "key "+name)
	}
	day := 24 * time.Hour
	soon := key(t, adaTok, "Soon", 3*day)
	later := key(t, adaTok, "Later", 10*day)
	key(t, adaTok, "Forever", 0)
	revoked := key(t, adaTok, "Revoked", 2*day)
	frKey := key(t, frTok, "Facturation", 5*day)
	key(t, quietTok, "Quiet", 2*day)
	if r := e.Do("DELETE", "/v1/me/api-keys/"+revoked.ID, adaTok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	run := func(t *testing.T) {
		t.Helper()
		if err := e.RunJobs(ctx); err != nil {
			t.Fatal(err)
		}
	}
	expires := func(k apikeys.NewAPIKey) string { return k.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC") }
	want := []string{
		"ada@acme.example: Your Acme API key Soon (" + soon.Prefix + ") expires on " + expires(soon),
		"francoise@acme.example: Votre clé d'API Acme Facturation (" + frKey.Prefix + ") expire le " + expires(frKey),
	}
	t.Run("a sweep announces the keys expiring within 7 days to their owners, in their language: not the revoked key, not when the switch is off, not before 7 days", func(t *testing.T) {
		run(t)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		m := e.LastMail(t, ada.Email)
		for _, w := range []string{"Soon (" + soon.Prefix + ")", "for Comax", expires(soon), "http://guichet.test/v1/me/api-keys", "Hello Test admin"} {
			if !strings.Contains(m.Text, w) || !strings.Contains(m.HTML, w) {
				t.Fatalf("the notice lacks %q:\n%s\n%s", w, m.Text, m.HTML)
			}
		}
		if strings.Contains(m.Text, soon.Secret) || strings.Contains(m.HTML, soon.Secret) {
			t.Fatal("the notice holds the key")
		}
		_ = quiet
		_ = fr
	})
	t.Run("a second sweep announces nothing again", func(t *testing.T) {
		run(t)
		run(t)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s", strings.Join(got, "\n"))
		}
	})
	t.Run("a key is announced once it comes within 7 days", func(t *testing.T) {
		e.Clock.Advance(3*day - time.Hour) // Later is 7 days and 1 hour away
		run(t)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("announced 7 days and an hour ahead:\n%s", strings.Join(got, "\n"))
		}
		e.Clock.Advance(2 * time.Hour)
		run(t)
		want = append(want, "ada@acme.example: Your Acme API key Later ("+later.Prefix+") expires on "+expires(later))
		slices.Sort(want)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("two concurrent sweeps announce a key once", func(t *testing.T) {
		adaTok = e.Login(t, ada.Email, apitest.UserPassword).AccessToken // the clock moved on
		for i := range 3 {
			k := key(t, adaTok, "Race"+string(rune('A'+i)), 5*day)
			want = append(want, "ada@acme.example: Your Acme API key "+k.Name+" ("+k.Prefix+") expires on "+expires(k))
		}
		slices.Sort(want)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = e.RunJobs(ctx) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a rotated key is not announced, its replacement is", func(t *testing.T) {
		old := key(t, adaTok, "Rotated", 4*day)
		r := e.Do("POST", "/v1/me/api-keys/"+old.ID+"/rotate", adaTok, withPassword(t, e, adaTok, map[string]any{"grace_seconds": 3600}))
		next := apitest.Want[apikeys.NewAPIKey](t, r, http.StatusCreated, "rotate")
		run(t)
		want = append(want, "ada@acme.example: Your Acme API key Rotated ("+next.Prefix+") expires on "+expires(next))
		slices.Sort(want)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a deactivated owner's keys are not announced", func(t *testing.T) {
		bob, bobTok := e.AddUserLogin(t, "bob@acme.example", "admin")
		key(t, bobTok, "Bob's", 2*day)
		owner := e.LoginOwner(t).AccessToken
		if r := e.Do("POST", "/v1/users/"+bob.ID+"/status", owner, map[string]any{"status": "inactive"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		run(t)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	// A sweep also reads the jobs of each kind (the three endings,
	// regrant): one Query each, none of them idle for an hour.
	const jobKinds = 4
	t.Run("a sweep with nothing to announce is one Query per day, 8 in all, whatever the table holds", func(t *testing.T) {
		e.ResetCounters()
		if err := e.Jobs.Sweep(ctx, time.Hour); err != nil { // no job is an hour idle: the task alone
			t.Fatal(err)
		}
		c := e.Counters[route.Jobs]
		if n := c.Calls(); n != 8+jobKinds || !slices.Equal(c.Operations(), []string{"Query"}) {
			t.Fatalf("%d calls: %v", n, c.Operations())
		}
	})
	t.Run("announcing a key costs its owner's read (once per owner and sweep), the mail's count and the mark", func(t *testing.T) {
		_, carolTok := e.AddUserLogin(t, "carol@acme.example", "admin")
		for i := range 3 {
			k := key(t, carolTok, "Batch"+string(rune('A'+i)), 6*day)
			want = append(want, "carol@acme.example: Your Acme API key "+k.Name+" ("+k.Prefix+") expires on "+expires(k))
		}
		slices.Sort(want)
		e.ResetCounters()
		if err := e.Jobs.Sweep(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		// 8 Query + 1 BatchGetItem (user and organization) + 3 × (TransactWriteItems + UpdateItem)
		if n := e.Counters[route.Jobs].Calls(); n != 8+jobKinds+1+3*2 {
			t.Fatalf("%d calls: %v", n, e.Counters[route.Jobs].Operations())
		}
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("past the address's mail limit a key waits for a later window, and is announced then", func(t *testing.T) {
		// ada got 5 notices this hour (Later, 3 races, Rotated): the limit.
		k := key(t, adaTok, "Waiting", 6*day)
		run(t)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("a sixth notice in the hour:\n%s", strings.Join(got, "\n"))
		}
		e.Clock.Advance(time.Hour)
		run(t)
		want = append(want, "ada@acme.example: Your Acme API key Waiting ("+k.Prefix+") expires on "+expires(k))
		slices.Sort(want)
		if got := expiringMails(e); !slices.Equal(got, want) {
			t.Fatalf("notices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("the index holds only keys that expire, under their expiry's day", func(t *testing.T) {
		entries, err := e.Store.ExpiringKeys(ctx, soon.ExpiresAt.UTC())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(entries, func(k store.KeyEntry) bool { return k.ID == soon.ID && k.Announced != 0 }) {
			t.Fatalf("%+v", entries)
		}
		if slices.ContainsFunc(entries, func(k store.KeyEntry) bool { return k.ID == revoked.ID }) {
			t.Fatal("a revoked key is still indexed")
		}
	})
}
