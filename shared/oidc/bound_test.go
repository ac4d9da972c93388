package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/session"
)

// signInWith signs in through client c asking for scopes, and returns
// its tokens.
func (p *rp) signInWith(t *testing.T, c oauth2.Config, scopes ...string) *oauth2.Token {
	t.Helper()
	c.Scopes = scopes
	v := oauth2.GenerateVerifier()
	q := p.signIn(t, c, oauth2.S256ChallengeOption(v))
	tok, err := c.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// userinfo asks the userinfo endpoint with access.
func (p *rp) userinfo(t *testing.T, access string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// claims are the claims of a JWT, unverified.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *rp) refresh(t *testing.T, c oauth2.Config, rt string) *oauth2.Token {
	t.Helper()
	next, err := c.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return next
}

func TestAccessTokensNameTheirClient(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	tok := p.tokens(t)
	if got := claims(t, tok.AccessToken)["client_id"]; got != "spa" {
		t.Fatalf("the code flow's access token says client_id %v, want spa", got)
	}
	if got := claims(t, p.refresh(t, p.spa, tok.RefreshToken).AccessToken)["client_id"]; got != "spa" {
		t.Fatalf("its refreshed access token says client_id %v, want spa", got)
	}
	if got := claims(t, p.e.LoginOwner(t).AccessToken)["client_id"]; got != session.FirstParty {
		t.Fatalf("the JSON login API's access token says client_id %v, want %s", got, session.FirstParty)
	}
	if registry.Reserved != session.FirstParty {
		t.Fatalf("the registry reserves %q, the JSON login API's tokens say %q", registry.Reserved, session.FirstParty)
	}
	t.Run("introspection names the client", func(t *testing.T) {
		status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {tok.AccessToken}})
		if status != 200 || body["client_id"] != "spa" {
			t.Fatalf("%d %v", status, body)
		}
	})
}

// RFC 7009 §2.1: a client revokes only the tokens issued to it; another
// client's token is answered 200 and goes on.
func TestAClientRevokesOnlyItsOwnTokens(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	spa := p.tokens(t)
	login := p.e.LoginOwner(t)
	revoke := func(t *testing.T, tok string) {
		t.Helper()
		if status, body := p.form(t, "/oauth/revoke", "web", p.webSecret, url.Values{"token": {tok}}); status != 200 {
			t.Fatalf("revoke: %d %v", status, body)
		}
	}
	t.Run("another client's access token", func(t *testing.T) {
		revoke(t, spa.AccessToken)
		if s := p.me(t, spa.AccessToken); s != 200 {
			t.Fatalf("GET /v1/me after the web client revoked the spa's access token: %d, want 200", s)
		}
	})
	t.Run("another client's refresh token", func(t *testing.T) {
		revoke(t, spa.RefreshToken)
		if s := p.me(t, spa.AccessToken); s != 200 {
			t.Fatalf("GET /v1/me after the web client revoked the spa's refresh token: %d, want 200", s)
		}
		p.refresh(t, p.spa, spa.RefreshToken)
	})
	t.Run("the JSON login API's tokens", func(t *testing.T) {
		revoke(t, login.AccessToken)
		revoke(t, login.RefreshToken)
		if s := p.me(t, login.AccessToken); s != 200 {
			t.Fatalf("GET /v1/me after a client revoked the JSON API's tokens: %d, want 200", s)
		}
		if r := p.e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": login.RefreshToken}); r.Status != 200 {
			t.Fatalf("refresh after a client revoked the JSON API's refresh token: %d %s", r.Status, r.Body)
		}
	})
	t.Run("its own access token", func(t *testing.T) {
		web := p.signInWith(t, p.web, gooidc.ScopeOpenID)
		revoke(t, web.AccessToken)
		if s := p.me(t, web.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me after the web client revoked its own access token: %d, want 401", s)
		}
	})
}

// Userinfo answers the claims of the scopes granted: sub and the
// organization always, e-mail with email, names with profile.
func TestUserInfoAnswersTheScopesGranted(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	owner := p.e.LoginOwner(t)
	if r := p.e.Do("PATCH", "/v1/me", owner.AccessToken, map[string]any{"first_name": "Ada", "last_name": "Lovelace"}); r.Status != 200 {
		t.Fatalf("PATCH /v1/me: %d %s", r.Status, r.Body)
	}
	has := func(body map[string]any, keys ...string) bool {
		for _, k := range keys {
			if _, ok := body[k]; !ok {
				return false
			}
		}
		return true
	}
	hasNone := func(body map[string]any, keys ...string) bool {
		return !slices.ContainsFunc(keys, func(k string) bool { _, ok := body[k]; return ok })
	}
	always := []string{"sub", "org_id", "org_code"}
	email := []string{"email", "email_verified"}
	profile := []string{"name", "given_name", "family_name"}
	t.Run("openid and email: no names", func(t *testing.T) {
		tok := p.signInWith(t, p.web, gooidc.ScopeOpenID, "email")
		status, body := p.userinfo(t, tok.AccessToken)
		if status != 200 || !has(body, append(always, email...)...) || !hasNone(body, profile...) || body["email"] != p.e.Org.Owner.Email {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("openid and profile: no e-mail, also after a refresh", func(t *testing.T) {
		tok := p.signInWith(t, p.spa, gooidc.ScopeOpenID, "profile", gooidc.ScopeOfflineAccess)
		for _, access := range []string{tok.AccessToken, p.refresh(t, p.spa, tok.RefreshToken).AccessToken} {
			status, body := p.userinfo(t, access)
			if status != 200 || !has(body, append(always, profile...)...) || !hasNone(body, email...) || body["given_name"] != "Ada" {
				t.Fatalf("%d %v", status, body)
			}
		}
	})
	t.Run("openid alone: sub and the organization", func(t *testing.T) {
		tok := p.signInWith(t, p.spa, gooidc.ScopeOpenID)
		status, body := p.userinfo(t, tok.AccessToken)
		if status != 200 || !has(body, always...) || !hasNone(body, append(email, profile...)...) || body["sub"] != p.e.Org.Owner.Subject() {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("without openid: refused", func(t *testing.T) {
		tok := p.signInWith(t, p.spa, "email", "profile")
		status, body := p.userinfo(t, tok.AccessToken)
		if status != 403 || body["error"] != "insufficient_scope" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("the JSON login API's token: every claim", func(t *testing.T) {
		status, body := p.userinfo(t, owner.AccessToken)
		if status != 200 || !has(body, append(always, append(email, profile...)...)...) {
			t.Fatalf("%d %v", status, body)
		}
	})
}

// Introspection tells the principal of any organization's token: only the
// deployment's own confidential clients may ask.
func TestOnlyFirstPartyClientsIntrospect(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	tok := p.tokens(t)
	status, body := p.form(t, "/oauth/introspect", "partner-backend", p.partnerSecret, url.Values{"token": {tok.AccessToken}})
	if status != 403 || body["error"] != "unauthorized_client" || body["active"] != nil || body["principal"] != nil {
		t.Fatalf("a third party's confidential client introspecting: %d %v", status, body)
	}
	if status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {tok.AccessToken}}); status != 200 || body["active"] != true {
		t.Fatalf("a first-party client introspecting: %d %v", status, body)
	}
}
