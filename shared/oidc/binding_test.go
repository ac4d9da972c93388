package oidc_test

import (
	"context"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// A client's tokens carry only the permissions it asked for as scopes,
// within the person's role, when it is not the deployment's own (the
// hosted login asked the person's consent for those) or when a
// first-party client asks for permissions; a refresh keeps the limit.
func TestTokensCarryOnlyThePermissionsAskedFor(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	partner := oauth2.Config{ClientID: "partner", RedirectURL: partnerRedirect, Endpoint: p.spa.Endpoint}
	perms := func(t *testing.T, access string) []any {
		t.Helper()
		pr, _ := claims(t, access)["principal"].(map[string]any)
		got, _ := pr["permissions"].([]any)
		return got
	}
	t.Run("a third-party client: its permission scopes only, kept by a refresh", func(t *testing.T) {
		tok := p.signInWith(t, partner, "openid", "offline_access", "users:read")
		if got := perms(t, tok.AccessToken); len(got) != 1 || got[0] != "users:read" {
			t.Fatalf("permissions %v", got)
		}
		if r := p.e.Do("GET", "/v1/users", tok.AccessToken, nil); r.Status != 200 {
			t.Fatalf("GET /v1/users: %d", r.Status)
		}
		if r := p.e.Do("POST", "/v1/invitations", tok.AccessToken, map[string]any{"email": "x@acme.example", "role": "member"}); r.Status != 403 {
			t.Fatalf("an invitation with a users:read token: %d", r.Status)
		}
		next := p.refresh(t, partner, tok.RefreshToken)
		if got := perms(t, next.AccessToken); len(got) != 1 || got[0] != "users:read" {
			t.Fatalf("after a refresh: %v", got)
		}
	})
	t.Run("a third-party client asking for no permission gets none", func(t *testing.T) {
		tok := p.signInWith(t, partner, "openid", "email")
		if got := perms(t, tok.AccessToken); len(got) != 0 {
			t.Fatalf("permissions %v", got)
		}
		if r := p.e.Do("GET", "/v1/users", tok.AccessToken, nil); r.Status != 403 {
			t.Fatalf("GET /v1/users: %d", r.Status)
		}
	})
	t.Run("a first-party client: the role, or the permissions it asks for", func(t *testing.T) {
		if got := perms(t, p.signInWith(t, p.spa, "openid").AccessToken); len(got) < 5 {
			t.Fatalf("the owner's role through the SPA: %v", got)
		}
		if got := perms(t, p.signInWith(t, p.spa, "openid", "users:read").AccessToken); len(got) != 1 || got[0] != "users:read" {
			t.Fatalf("asking users:read: %v", got)
		}
	})
	t.Run("a client's session does not switch into a JSON API session of the whole role", func(t *testing.T) {
		tok := p.signInWith(t, partner, "openid")
		r := p.e.Do("POST", "/v1/auth/switch", tok.AccessToken, map[string]string{"organization": "acme"})
		if pr := r.Problem(t, 400); pr.Code != "not_a_session" {
			t.Fatalf("switch with a third-party token: %s", r.Body)
		}
	})
	t.Run("a scope the client may not ask for is refused", func(t *testing.T) {
		c := partner
		c.Scopes = []string{"openid", "users:write"}
		back := p.authorize(t, c.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if back.Query().Get("error") != "invalid_scope" {
			t.Fatalf("sent to %s", back)
		}
	})
}

// A refresh token is refreshed only by the client it was issued to: not
// by another OpenID Connect client, and an OIDC client's not through the
// JSON API, nor the JSON API's through the provider. A refusal ends
// nothing.
func TestRefreshTokensAreBoundToTheirClient(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()
	spa := p.tokens(t)
	login := p.e.LoginOwner(t)
	if s, body := p.form(t, "/oauth/token", "", "", url.Values{"grant_type": {"refresh_token"}, "client_id": {"spa"},
		"refresh_token": {login.RefreshToken}}); s == 200 {
		t.Fatalf("the JSON API's refresh token was refreshed by the spa client: %v", body)
	}
	if s, body := p.form(t, "/oauth/token", "web", p.webSecret, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {spa.RefreshToken}}); s == 200 {
		t.Fatalf("the spa's refresh token was refreshed by the web client: %v", body)
	}
	if r := p.e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": spa.RefreshToken}); r.Status == 200 {
		t.Fatalf("the spa's refresh token was refreshed through the JSON API: %s", r.Body)
	}
	if r := p.e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}); r.Status != 200 {
		t.Fatalf("the JSON API's refresh token, after a refused refresh elsewhere: %d %s", r.Status, r.Body)
	}
	next, err := p.spa.TokenSource(ctx, &oauth2.Token{RefreshToken: spa.RefreshToken}).Token()
	if err != nil || p.me(t, next.AccessToken) != 200 {
		t.Fatalf("the spa's own refresh, after refused ones: %v", err)
	}
}

// A used code presented by another client ends nothing: only its own
// client's reuse revokes what it issued.
func TestAnotherClientsUsedCodeEndsNothing(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	q := p.signIn(t, p.web)
	tok, err := p.web.Exchange(context.Background(), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.form(t, "/oauth/token", "", "", url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"},
		"code": {q.Get("code")}, "redirect_uri": {spaRedirect}}); s == 200 {
		t.Fatal("another client exchanged the code")
	}
	if s := p.me(t, tok.AccessToken); s != 200 {
		t.Fatalf("GET /v1/me after another client presented the used code: %d, want 200", s)
	}
}
