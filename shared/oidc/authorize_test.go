package oidc_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/oidc"
)

// The authorization endpoint stores every request it takes: a client
// (its address) gets at most the limit per window, then 429 until the
// window ends.
func TestAuthorizeIsLimitedPerClient(t *testing.T) {
	t.Parallel()
	const limit = 3
	p := newRP(t, func(c *config.Config) { c.OIDCAuthorizeLimit = limit })
	url := p.spa.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	get := func(t *testing.T) *http.Response {
		t.Helper()
		res, err := p.http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for i := range limit {
		if res := get(t); res.StatusCode != http.StatusFound {
			t.Fatalf("request %d of %d: %d, want 302", i+1, limit, res.StatusCode)
		}
	}
	t.Run("past the limit, 429 with Retry-After", func(t *testing.T) {
		res := get(t)
		var pr struct{ Code string }
		_ = json.NewDecoder(res.Body).Decode(&pr)
		after, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if res.StatusCode != http.StatusTooManyRequests || err != nil || after < 1 || after > int(oidc.AuthorizeWindow.Seconds()) ||
			pr.Code != "too_many_requests" || res.Header.Get("Location") != "" {
			t.Fatalf("%d, Retry-After %q, code %q", res.StatusCode, res.Header.Get("Retry-After"), pr.Code)
		}
	})
	t.Run("the next window takes requests again", func(t *testing.T) {
		p.e.Clock.Advance(oidc.AuthorizeWindow)
		if res := get(t); res.StatusCode != http.StatusFound {
			t.Fatalf("%d, want 302", res.StatusCode)
		}
	})
}
