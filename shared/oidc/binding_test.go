package oidc_test

import (
	"context"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// Tokens issued through the provider carry the user's whole role: until
// consent and scope-limited tokens exist, a third-party client signs
// nobody in, and a permission is not accepted as a scope.
func TestOnlyFirstPartyClientsSignPeopleIn(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	refused := func(t *testing.T, c oauth2.Config, want string) {
		t.Helper()
		back := p.authorize(t, c.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if got := back.Query().Get("error"); back.Path == "/login" || got != want {
			t.Fatalf("authorize sent the browser to %s, want the client's redirect with error %s", back, want)
		}
	}
	t.Run("a third-party client", func(t *testing.T) {
		refused(t, oauth2.Config{ClientID: "partner", RedirectURL: partnerRedirect, Endpoint: p.spa.Endpoint,
			Scopes: []string{"openid"}}, "unauthorized_client")
	})
	t.Run("a permission as a scope", func(t *testing.T) {
		c := p.spa
		c.Scopes = []string{"openid", "users:read"}
		refused(t, c, "invalid_scope")
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
