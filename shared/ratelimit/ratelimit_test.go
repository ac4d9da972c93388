package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
)

func TestGuessingLinkTokensIsSlowedDown(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	forged := func(i int) string { return "giv_" + strings.Repeat(string(rune('A'+i%26)), 43) }
	endpoints := []func(i int) *apitest.Response{
		func(i int) *apitest.Response { return e.Do("GET", "/v1/invitations/preview?token="+forged(i), "", nil) },
		func(i int) *apitest.Response {
			return e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": "grs_" + forged(i)[4:], "password": "a-fine-password-7"})
		},
		func(i int) *apitest.Response {
			return e.Do("POST", "/v1/me/email/confirm", "", map[string]string{"token": "gem_" + forged(i)[4:]})
		},
	}
	for i := range 20 {
		if r := endpoints[i%3](i); r.Status != 400 {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	t.Run("past 20 unknown links from one client, every link endpoint answers 429", func(t *testing.T) {
		for i, do := range endpoints {
			r := do(100 + i)
			if p := r.Problem(t, 429); p.Code != "too_many_requests" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%+v", p)
			}
		}
	})
	t.Run("the limit ends by itself", func(t *testing.T) {
		e.Clock.Advance(16 * time.Minute)
		endpoints[0](200).Problem(t, 400)
	})
	t.Run("a valid link still works while the limit holds", func(t *testing.T) {
		for i := range 25 {
			endpoints[0](300 + i)
		}
		owner := e.LoginOwner(t).AccessToken
		var inv struct {
			Link string `json:"link"`
		}
		e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "ok@example.com", "role": "member"}).Decode(t, &inv)
		tok := inv.Link[strings.Index(inv.Link, "token=")+6:]
		if r := e.Do("GET", "/v1/invitations/preview?token="+tok, "", nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
