package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/signing"
)

// vault is a key set held apart from the stack's, as the Secrets Manager
// secret of a deployment is.
type vault struct{ ks signing.KeySet }

func (v *vault) Read(context.Context) (signing.KeySet, bool, error) { return v.ks, true, nil }
func (v *vault) Write(_ context.Context, ks signing.KeySet) error {
	v.ks = ks
	return nil
}

// An auth function that read the key set at init signs id_tokens, as it
// signs access tokens, with the key set rotated since, once read again.
func TestIDTokensFollowAKeyRotation(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	v := &vault{ks: *p.e.Config.JWTKeys}
	d := app.New(p.e.Config, p.e.DB, log, p.e.Clock.Now).WithKeys(keyring.NewReloading(v, v.ks, p.e.Clock.Now))
	h, err := router.New(route.Auth, d.AuthOperations(), log, httpapi.StoreProblem)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // the auth function of a deployment whose keys live in v
	t.Cleanup(srv.Close)
	c := p.spa
	c.Endpoint = oauth2.Endpoint{AuthURL: srv.URL + "/oauth/authorize", TokenURL: srv.URL + "/oauth/token"}
	kids := func(t *testing.T, ks signing.KeySet) (id, access string) {
		t.Helper()
		tok := p.signInWith(t, c, "openid")
		raw, _ := tok.Extra("id_token").(string)
		if _, err := signing.Verify(ks.JWKS(), raw, signing.IDToken); err != nil {
			t.Fatalf("the id_token does not verify with the key set of the time: %v", err)
		}
		return kid(t, raw), kid(t, tok.AccessToken)
	}
	old := v.ks.Current.ID
	if id, access := kids(t, v.ks); id != old || access != old {
		t.Fatalf("before the rotation: id_token kid %s, access token kid %s, want %s", id, access, old)
	}
	rotated, err := keyring.Rotate(ctx, v, p.e.Store, signing.ES256, keyring.Keep(p.e.Config.AccessTTL, authorizer.Skew), p.e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.e.Clock.Advance(keyring.Reload)
	if id, access := kids(t, rotated); id == old || id != rotated.Current.ID || access != id {
		t.Fatalf("after the rotation: id_token kid %s, access token kid %s, want %s", id, access, rotated.Current.ID)
	}
}

// kid is the kid of a JWT's header.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}
