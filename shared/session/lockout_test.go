package session_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
)

// burst sends n requests at once and counts the answers by status.
func burst(e *apitest.Env, n int, send func(i int) *apitest.Response) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[int]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := send(i)
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return got
}

// TestConcurrentGuessesCheckAtMostTheLimit: each attempt is counted before
// its secret is checked, so that 40 guesses at once get 5 checks (each a
// 401 or 403 answer) and 35 refusals, and the right secret is refused once
// the limit is reached.
func TestConcurrentGuessesCheckAtMostTheLimit(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	const from = "198.51.100.7:4000"
	login := func(pw string) *apitest.Response {
		return e.DoFrom(from, "POST", "/v1/auth/login", map[string]string{"Content-Type": "application/json"},
			map[string]string{"login": "owner@acme.example", "password": pw})
	}
	tok := e.LoginOwner(t) // from another client: its count is its own

	t.Run("login", func(t *testing.T) {
		got := burst(e, 40, func(int) *apitest.Response { return login("wrong-password") })
		if got[401] != 5 || got[429] != 35 {
			t.Fatalf("answers by status %v, want 5 checks (401) and 35 refusals (429)", got)
		}
		got = burst(e, 10, func(int) *apitest.Response { return login(apitest.OwnerPassword) })
		if got[429] != 10 {
			t.Fatalf("the right password once locked: %v", got)
		}
	})
	t.Run("current password", func(t *testing.T) {
		change := func(pw string) *apitest.Response {
			return e.Do("POST", "/v1/me/password", tok.AccessToken, map[string]string{"current_password": pw, "new_password": "another-password-99"})
		}
		got := burst(e, 40, func(int) *apitest.Response { return change("wrong-password") })
		if got[403] != 5 || got[429] != 35 {
			t.Fatalf("answers by status %v, want 5 checks (403) and 35 refusals (429)", got)
		}
		if r := change(apitest.OwnerPassword); r.Status != 429 {
			t.Fatalf("the right password once locked: %d %s", r.Status, r.Body)
		}
	})
}

// TestAnotherClientCannotLockTheOwnerOut: failures lock the login for the
// client that made them; other clients are slowed down, with a growing
// wait, and locked out only past LOGIN_ACCOUNT_MAX_FAILURES.
func TestAnotherClientCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AccountMaxFailures = 12 })
	login := func(client int, pw string) *apitest.Response {
		return e.DoFrom(fmt.Sprintf("203.0.113.%d:5000", client), "POST", "/v1/auth/login",
			map[string]string{"Content-Type": "application/json"},
			map[string]string{"login": "owner@acme.example", "password": pw})
	}
	for range 5 {
		login(1, "wrong-password").Problem(t, 401)
	}
	t.Run("the client that failed is locked out", func(t *testing.T) {
		if p := login(1, apitest.OwnerPassword).Problem(t, 429); p.Code != "login_locked" {
			t.Fatal(p.Code)
		}
	})
	t.Run("the owner, from another client, logs in", func(t *testing.T) {
		if r := login(2, apitest.OwnerPassword); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("and the client that failed stays locked out", func(t *testing.T) {
		login(1, apitest.OwnerPassword).Problem(t, 429)
	})

	t.Run("failures of many clients slow the login down, then lock it", func(t *testing.T) {
		client := 10
		for range 5 { // the owner's success started the count again
			login(client, "wrong-password").Problem(t, 401)
			client++
		}
		last := 0
		for failures := 5; failures < 12; failures++ {
			login(client, "wrong-password").Problem(t, 401)
			client++
			r := login(client, apitest.OwnerPassword) // even the right password waits
			if r.Status != 429 {
				t.Fatalf("after %d failures: %d %s", failures+1, r.Status, r.Body)
			}
			if failures+1 == 12 {
				break
			}
			wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
			if wait <= last && wait < 60 {
				t.Fatalf("after %d failures the wait is %ds, was %ds", failures+1, wait, last)
			}
			last = wait
			e.Clock.Advance(time.Duration(wait) * time.Second)
		}
		e.Clock.Advance(time.Minute) // longer than any wait
		r := login(client+1, apitest.OwnerPassword)
		if p, wait := r.Problem(t, 429), r.Header.Get("Retry-After"); p.Code != "login_locked" || len(wait) < 3 {
			t.Fatalf("past the account's limit: %v %s", r.Header, r.Body)
		}
		e.Clock.Advance(16 * time.Minute)
		if r := login(client+1, apitest.OwnerPassword); r.Status != 200 {
			t.Fatalf("once the window ended: %d %s", r.Status, r.Body)
		}
	})
}
