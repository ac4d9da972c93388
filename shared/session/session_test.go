package session_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 300 ||
		strings.Count(tok.AccessToken, ".") != 2 || !strings.HasPrefix(tok.RefreshToken, "grf_") {
		t.Fatalf("unexpected tokens: %+v", tok)
	}

	t.Run("the access token opens /v1/me", func(t *testing.T) {
		r := e.Do("GET", "/v1/me", tok.AccessToken, nil)
		var me struct {
			Email, Role  string
			Organization struct{ Code string }
		}
		r.Decode(t, &me)
		if r.Status != 200 || me.Email != "owner@acme.example" || me.Role != "owner" || me.Organization.Code != "acme" {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
	})

	var next apitest.Tokens
	t.Run("refresh rotates both tokens", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		if r.Status != 200 {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		r.Decode(t, &next)
		if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken {
			t.Fatal("refresh returned the same tokens")
		}
		if r := e.Do("GET", "/v1/me", next.AccessToken, nil); r.Status != 200 {
			t.Fatalf("new access token refused: %d %s", r.Status, r.Body)
		}
	})

	t.Run("the previous access token works until its own expiry", func(t *testing.T) {
		if r := e.Do("GET", "/v1/me", tok.AccessToken, nil); r.Status != 200 {
			t.Fatalf("previous access token refused after a refresh: %d %s", r.Status, r.Body)
		}
	})

	t.Run("logout ends the session and its token is refused afterwards", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/logout", next.AccessToken, nil)
		if r.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		p := e.Do("GET", "/v1/me", next.AccessToken, nil).Problem(t, 401)
		if p.Code != "invalid_token" {
			t.Fatalf("code %q", p.Code)
		}
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}).Problem(t, 401)
		// Ending the session ends the access token its refresh kept.
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
	})

	t.Run("a kept access token stops at its own expiry", func(t *testing.T) {
		e := apitest.New(t)
		tok := e.LoginOwner(t)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).Decode(t, &next)
		e.Clock.Advance(e.Config.AccessTTL)
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
	})
}

func TestRefreshReuseRevokesTheSession(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	first := e.LoginOwner(t)
	var second apitest.Tokens
	e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Decode(t, &second)

	e.Clock.Advance(session.ReuseGrace)
	p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Problem(t, 401)
	if p.Code != "token_reused" {
		t.Fatalf("reuse code %q", p.Code)
	}
	t.Run("the current access token of the family is refused", func(t *testing.T) {
		e.Do("GET", "/v1/me", second.AccessToken, nil).Problem(t, 401)
	})
	t.Run("the current refresh token of the family is refused", func(t *testing.T) {
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}).Problem(t, 401)
	})
	t.Run("another session of the same user still works", func(t *testing.T) {
		other := e.LoginOwner(t)
		if r := e.Do("GET", "/v1/me", other.AccessToken, nil); r.Status != 200 {
			t.Fatalf("other session: %d", r.Status)
		}
	})
}

func TestConcurrentRefreshHasOneWinner(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	const n = 20
	var wg sync.WaitGroup
	results := make([]*apitest.Response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		}()
	}
	wg.Wait()
	var winners []apitest.Tokens
	for _, r := range results {
		switch r.Status {
		case 200:
			var t2 apitest.Tokens
			r.Decode(t, &t2)
			winners = append(winners, t2)
		case 409:
			// A loser raced the winner's transaction or came after it,
			// within the grace: either way the same answer.
			if p := r.Problem(t, 409); p.Code != "refresh_in_progress" {
				t.Fatalf("loser's code %q", p.Code)
			}
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d refreshes won, want exactly 1", len(winners))
	}
	t.Run("the session survives with the winner's tokens and the previous access token only", func(t *testing.T) {
		if r := e.Do("GET", "/v1/me", winners[0].AccessToken, nil); r.Status != 200 {
			t.Fatalf("winner's access token: %d %s", r.Status, r.Body)
		}
		// The previous access token lives until its own expiry: requests
		// in flight with it do not break.
		if r := e.Do("GET", "/v1/me", tok.AccessToken, nil); r.Status != 200 {
			t.Fatalf("previous access token: %d %s", r.Status, r.Body)
		}
		creds, sessions, err := e.Store.UserCredentials(context.Background(), e.Org.Owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(creds) != 3 || len(sessions) != 1 {
			t.Fatalf("%d credentials and %d sessions after the race, want 3 and 1", len(creds), len(sessions))
		}
		if r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": winners[0].RefreshToken}); r.Status != 200 {
			t.Fatalf("winner's refresh token: %d %s", r.Status, r.Body)
		}
	})
}

// TestRefreshReuseGrace presents a rotated refresh token again: within
// session.ReuseGrace the session lives on and the answer is a 409; past it,
// the session ends.
func TestRefreshReuseGrace(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	first := e.LoginOwner(t)
	_, hash, _ := token.Parse(first.RefreshToken, token.Refresh)
	before, err := e.Store.GetCredential(context.Background(), hash)
	if err != nil {
		t.Fatal(err)
	}
	var second apitest.Tokens
	e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Decode(t, &second)

	t.Run("within the grace the answer is a 409 and the session lives", func(t *testing.T) {
		e.Clock.Advance(session.ReuseGrace - 2*time.Second)
		p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Problem(t, 409)
		if p.Code != "refresh_in_progress" {
			t.Fatalf("code %q", p.Code)
		}
		if r := e.Do("GET", "/v1/me", second.AccessToken, nil); r.Status != 200 {
			t.Fatalf("successor's access token: %d %s", r.Status, r.Body)
		}
	})
	t.Run("the rotated token expires with the token it replaced", func(t *testing.T) {
		c, err := e.Store.GetCredential(context.Background(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rotated == 0 || c.Expires != before.Expires || c.GSI1PK != "ROTATED#"+c.Session {
			t.Fatalf("rotated token kept as %+v, want it to expire at %d", c, before.Expires)
		}
	})
	t.Run("past the grace reuse ends the session", func(t *testing.T) {
		e.Clock.Advance(2 * time.Second)
		p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Problem(t, 401)
		if p.Code != "token_reused" {
			t.Fatalf("code %q", p.Code)
		}
		e.Do("GET", "/v1/me", second.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": second.RefreshToken}).Problem(t, 401)
	})
	t.Run("within the grace of an ended session the token is only invalid", func(t *testing.T) {
		var next apitest.Tokens
		login := e.LoginOwner(t)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}).Decode(t, &next)
		if r := e.Do("POST", "/v1/auth/logout", next.AccessToken, nil); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}).Problem(t, 401)
		if p.Code != "invalid_token" {
			t.Fatalf("code %q", p.Code)
		}
	})
	t.Run("past the token's own expiry it is only invalid", func(t *testing.T) {
		e.Clock.Advance(31 * 24 * time.Hour)
		p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}).Problem(t, 401)
		if p.Code != "invalid_token" {
			t.Fatalf("code %q", p.Code)
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	t.Run("an unknown login and a wrong password get the same answer", func(t *testing.T) {
		unknown := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "nobody@acme.example", "password": "whatever-123"})
		wrong := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": "whatever-123"})
		p := unknown.Problem(t, 401)
		wrong.Problem(t, 401)
		if p.Code != "invalid_credentials" || !bytes.Equal(unknown.Body, wrong.Body) {
			t.Fatalf("answers differ:\n%s\n%s", unknown.Body, wrong.Body)
		}
	})
	t.Run("the login name is case-insensitive", func(t *testing.T) {
		e.Login(t, "OWNER@Acme.Example", apitest.OwnerPassword)
	})
	t.Run("bad input is a problem, not a login attempt", func(t *testing.T) {
		for _, body := range []string{
			``, `{}`, `[]`, `{"login":"a"}`, `{"login":1,"password":"x"}`, `{"login":"a","password":"b","extra":1}`,
			`{"login":"a","login":"b","password":"c"}`, "{\"login\":\"a\xff\",\"password\":\"b\"}", `{"login":"a","password":"b"} {}`,
			`{"login":"a\u0000","password":"b"}`,
		} {
			r := e.Do("POST", "/v1/auth/login", "", body)
			if r.Status != 400 && r.Status != 422 {
				t.Errorf("%q: status %d %s", body, r.Status, r.Body)
			}
		}
	})
}

func TestLockout(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	login := map[string]string{"login": "owner@acme.example", "password": "wrong-password"}
	for i := range 5 {
		if p := e.Do("POST", "/v1/auth/login", "", login).Problem(t, 401); p.Code != "invalid_credentials" {
			t.Fatalf("attempt %d: %s", i, p.Code)
		}
	}
	t.Run("after five failures even the right password is refused with 429", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword})
		p := r.Problem(t, 429)
		if p.Code != "login_locked" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("lock answer: %s %v", r.Body, r.Header)
		}
	})
	t.Run("an unknown login locks the same way", func(t *testing.T) {
		ghost := map[string]string{"login": "ghost@acme.example", "password": "wrong-password"}
		for range 5 {
			e.Do("POST", "/v1/auth/login", "", ghost).Problem(t, 401)
		}
		e.Do("POST", "/v1/auth/login", "", ghost).Problem(t, 429)
	})
	t.Run("the lock ends by itself", func(t *testing.T) {
		e.Clock.Advance(16 * time.Minute)
		e.LoginOwner(t)
	})
	t.Run("a success clears the count", func(t *testing.T) {
		for range 4 {
			e.Do("POST", "/v1/auth/login", "", login).Problem(t, 401)
		}
		e.LoginOwner(t)
		for range 4 {
			e.Do("POST", "/v1/auth/login", "", login).Problem(t, 401)
		}
		e.LoginOwner(t)
	})
}

func TestAccessTokenExpires(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	e.Clock.Advance(16 * time.Minute)
	e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
	t.Run("the refresh token still renews the session", func(t *testing.T) {
		var next apitest.Tokens
		r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		r.Decode(t, &next)
		if r.Status != 200 || e.Do("GET", "/v1/me", next.AccessToken, nil).Status != 200 {
			t.Fatalf("refresh after access expiry: %d %s", r.Status, r.Body)
		}
	})
}

// TestRotatedTokensLeaveTheUsersIndex refreshes one session 500 times:
// only its current tokens stay indexed under the user, and every old
// token is still recognized as reused.
func TestRotatedTokensLeaveTheUsersIndex(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "refresher@acme.example", "member")
	tok := e.Login(t, "refresher@acme.example", apitest.UserPassword)
	const refreshes = 500
	old := make([]string, 0, refreshes)
	for range refreshes {
		var next apitest.Tokens
		r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		if r.Status != 200 {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		r.Decode(t, &next)
		old = append(old, tok.RefreshToken)
		tok = next
	}
	t.Run("the user's index holds the session, its two current tokens and at most MaxKept previous access tokens", func(t *testing.T) {
		creds, sessions, err := e.Store.UserCredentials(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(creds) != 2+store.MaxKept || len(sessions) != 1 {
			t.Fatalf("%d credentials and %d sessions indexed after %d refreshes, want %d and 1", len(creds), len(sessions), refreshes, 2+store.MaxKept)
		}
	})
	t.Run("a rotated token keeps no permission and expires with the token", func(t *testing.T) {
		_, hash, _ := token.Parse(old[0], token.Refresh)
		c, err := e.Store.GetCredential(context.Background(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rotated == 0 || c.Session == "" || c.Kind != store.RefreshToken || len(c.Permissions) != 0 || c.GSI1PK != "ROTATED#"+c.Session ||
			c.Expires != e.Clock.Now().Add(30*24*time.Hour).Unix() {
			t.Fatalf("rotated token kept as %+v", c)
		}
	})
	t.Run("the lists of the user's index still answer", func(t *testing.T) {
		// A stale index entry of the embedded DynamoDB once made both
		// answer 500 after a single refresh.
		e.Do("GET", "/v1/me/sessions", tok.AccessToken, nil).Object(t, 200)
		e.Do("GET", "/v1/me/api-keys", tok.AccessToken, nil).Object(t, 200)
	})
	t.Run("reusing an old token ends the family", func(t *testing.T) {
		e.Clock.Advance(session.ReuseGrace)
		p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": old[refreshes/2]}).Problem(t, 401)
		if p.Code != "token_reused" {
			t.Fatalf("reuse code %q", p.Code)
		}
		e.Do("GET", "/v1/me", tok.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).Problem(t, 401)
	})
	t.Run("every old token is still told reused", func(t *testing.T) {
		for i := 0; i < refreshes; i += 37 {
			p := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": old[i]}).Problem(t, 401)
			if p.Code != "token_reused" {
				t.Fatalf("token %d: %q", i, p.Code)
			}
		}
	})
}
