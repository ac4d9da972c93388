package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/signing"
)

// tokens signs in through the SPA and returns its tokens.
func (p *rp) tokens(t *testing.T) *oauth2.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(v))
	tok, err := p.spa.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// form posts a form to path, as client:secret when client is set.
func (p *rp) form(t *testing.T, path, client, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", p.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		req.SetBasicAuth(client, secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	tok := p.tokens(t)
	info, err := p.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != p.e.Org.Owner.Subject() || info.Email != p.e.Org.Owner.Email {
		t.Fatalf("%+v", info)
	}
	t.Run("a token that is no access token is refused", func(t *testing.T) {
		_, err := p.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.RefreshToken}))
		if err == nil {
			t.Fatal("userinfo answered a refresh token")
		}
	})
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	tok := p.tokens(t)
	t.Run("a confidential client learns the access token's principal", func(t *testing.T) {
		status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {tok.AccessToken}})
		pr, _ := body["principal"].(map[string]any)
		if status != 200 || body["active"] != true || body["sub"] != p.e.Org.Owner.Subject() || pr == nil {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("an API key is introspected too", func(t *testing.T) {
		key := p.e.Do("POST", "/v1/me/api-keys", tok.AccessToken, map[string]any{"name": "K", "client": "internal",
			"current_password": "owner-password-1234", "scopes": []string{"users:read"}}).Object(t, 201)
		status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {key["key"].(string)}})
		if status != 200 || body["active"] != true || body["scope"] != "users:read" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("an unknown token is inactive, and says nothing more", func(t *testing.T) {
		status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {"gsn_" + strings.Repeat("A", 43)}})
		if status != 200 || body["active"] != false || len(body) != 1 {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("an access token signed by a foreign key is inactive, and refused by the API", func(t *testing.T) {
		other, err := signing.NewKeySet(signing.ES256, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok.AccessToken, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		forged, err := other.Sign(claims, signing.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		status, body := p.form(t, "/oauth/introspect", "web", p.webSecret, url.Values{"token": {forged}})
		if status != 200 || body["active"] != false {
			t.Fatalf("%d %v", status, body)
		}
		if s := p.me(t, forged); s != 401 {
			t.Fatalf("GET /v1/me with a forged token: %d", s)
		}
	})
	t.Run("a public client may not introspect", func(t *testing.T) {
		status, body := p.form(t, "/oauth/introspect", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"spa"}})
		if status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("a wrong secret may not introspect", func(t *testing.T) {
		status, _ := p.form(t, "/oauth/introspect", "web", p.webSecret+"x", url.Values{"token": {tok.AccessToken}})
		if status != 401 {
			t.Fatalf("%d", status)
		}
	})
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()
	t.Run("a revoked access token stops working; its session goes on", func(t *testing.T) {
		tok := p.tokens(t)
		status, _ := p.form(t, "/oauth/revoke", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"spa"}})
		if status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		if s := p.me(t, tok.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me: %d, want 401", s)
		}
		next, err := p.spa.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || p.me(t, next.AccessToken) != 200 {
			t.Fatalf("refresh after revoking the access token: %v", err)
		}
	})
	t.Run("a revoked refresh token ends its session", func(t *testing.T) {
		tok := p.tokens(t)
		status, _ := p.form(t, "/oauth/revoke", "", "", url.Values{"token": {tok.RefreshToken}, "client_id": {"spa"}})
		if status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		if s := p.me(t, tok.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me: %d, want 401", s)
		}
		if _, err := p.spa.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("the revoked refresh token refreshed")
		}
	})
	t.Run("an unknown token is answered 200", func(t *testing.T) {
		status, _ := p.form(t, "/oauth/revoke", "", "", url.Values{"token": {"nonsense"}, "client_id": {"spa"}})
		if status != 200 {
			t.Fatalf("revoke: %d", status)
		}
	})
	t.Run("an unknown client may not revoke", func(t *testing.T) {
		status, _ := p.form(t, "/oauth/revoke", "", "", url.Values{"token": {"nonsense"}, "client_id": {"nobody"}})
		if status != 401 {
			t.Fatalf("revoke: %d", status)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	tok := p.tokens(t)
	hint, _ := tok.Extra("id_token").(string)
	logout := func(q url.Values) *http.Response {
		res, err := p.http.Get(p.issuer + "/oauth/logout?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	t.Run("an unregistered post_logout_redirect_uri is refused and ends nothing", func(t *testing.T) {
		res := logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}})
		if res.StatusCode != 400 || p.me(t, tok.AccessToken) != 200 {
			t.Fatalf("%d", res.StatusCode)
		}
	})
	t.Run("a hint signed by another key is refused", func(t *testing.T) {
		parts := strings.Split(hint, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		if res := logout(url.Values{"id_token_hint": {forged}}); res.StatusCode != 400 {
			t.Fatalf("%d", res.StatusCode)
		}
	})
	t.Run("the hint's session ends and the browser goes back to the client", func(t *testing.T) {
		res := logout(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}, "state": {"bye"}})
		if res.StatusCode != 302 || res.Header.Get("Location") != "http://127.0.0.1:5173/?state=bye" {
			t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if s := p.me(t, tok.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me after logout: %d", s)
		}
	})

}
