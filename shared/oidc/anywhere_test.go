package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/access"
)

// TestVerifyingAnywhere: an application's backend checks the provider's
// tokens with the access package alone: offline against the JWKS served
// over HTTP, and by introspection as a confidential client.
func TestVerifyingAnywhere(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()
	tok := p.tokens(t)
	v, err := access.NewVerifier(p.issuer, p.e.Config.Audience(), access.WithClock(p.e.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	in, err := access.NewIntrospector(p.issuer, "web", p.webSecret)
	if err != nil {
		t.Fatal(err)
	}
	owner := p.e.Org.Owner
	var offline access.Principal
	t.Run("the verifier reads the access token's claims and principal", func(t *testing.T) {
		c, err := v.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		offline = c.Principal
		if c.Subject != owner.Subject() || offline.User != owner.ID ||
			offline.Organization.ID != p.e.Org.Org.ID || offline.Credential.Kind != "session" || len(offline.Permissions) == 0 {
			t.Fatalf("%+v", c)
		}
	})
	t.Run("introspection answers the same principal", func(t *testing.T) {
		pr, active, err := in.Introspect(ctx, tok.AccessToken)
		if err != nil || !active {
			t.Fatalf("%v %v", active, err)
		}
		if pr.User != offline.User || pr.Organization != offline.Organization || pr.Role.ID != offline.Role.ID ||
			!slices.Equal(pr.Permissions, offline.Permissions) {
			t.Fatalf("introspection %+v, token %+v", pr, offline)
		}
	})
	t.Run("the ID token is no access token", func(t *testing.T) {
		id, _ := tok.Extra("id_token").(string)
		if _, err := v.Verify(ctx, id); id == "" || !errors.Is(err, access.ErrInvalidToken) {
			t.Fatalf("%q: %v", id, err)
		}
	})
	t.Run("a backend behind Bearer serves the token's principal", func(t *testing.T) {
		srv := httptest.NewServer(access.Bearer(v)(access.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pr, _ := access.FromContext(r.Context())
			w.Header().Set("X-User", pr.User)
		}))))
		t.Cleanup(srv.Close)
		for _, tc := range []struct {
			token string
			want  int
		}{{tok.AccessToken, 200}, {tok.RefreshToken, 401}, {"", 401}} {
			req, _ := http.NewRequest("GET", srv.URL+"/projects", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want || tc.want == 200 && res.Header.Get("X-User") != owner.ID {
				t.Fatalf("%d %v, want %d", res.StatusCode, res.Header, tc.want)
			}
		}
	})
	t.Run("an API key is verified by introspection, not offline", func(t *testing.T) {
		key := p.e.Do("POST", "/v1/me/api-keys", tok.AccessToken, map[string]any{"name": "K", "client": "internal",
			"current_password": "owner-password-1234", "scopes": []string{"users:read"}}).Object(t, 201)
		secret, _ := key["key"].(string)
		pr, active, err := in.Introspect(ctx, secret)
		if err != nil || !active || pr.Credential.Kind != "apikey" || !slices.Equal(pr.Permissions, []string{"users:read"}) {
			t.Fatalf("%+v %v %v", pr, active, err)
		}
		if _, err := v.Verify(ctx, secret); !errors.Is(err, access.ErrInvalidToken) {
			t.Fatal(err)
		}
	})
	t.Run("a revoked token is inactive at once; offline it lives until it expires", func(t *testing.T) {
		status, _ := p.form(t, "/oauth/revoke", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"spa"}})
		if status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		if _, active, err := in.Introspect(ctx, tok.AccessToken); err != nil || active {
			t.Fatalf("introspection of a revoked token: %v %v", active, err)
		}
		if _, err := v.Verify(ctx, tok.AccessToken); err != nil {
			t.Fatalf("offline: %v", err)
		}
	})
	t.Run("a wrong client secret is an error, not an inactive token", func(t *testing.T) {
		bad, err := access.NewIntrospector(p.issuer, "web", p.webSecret+"x")
		if err != nil {
			t.Fatal(err)
		}
		if _, active, err := bad.Introspect(ctx, tok.AccessToken); err == nil || active {
			t.Fatalf("%v %v", active, err)
		}
	})
}
