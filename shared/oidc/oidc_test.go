package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/oidc"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/signing"
)

const (
	spaRedirect = "http://127.0.0.1:5173/callback"
	webRedirect = "https://web.example/callback"
	// partnerRedirect is the redirect of a third-party client.
	partnerRedirect = "https://partner.example/callback"
)

// rp is a relying party (go-oidc and x/oauth2, independent of Guichet)
// in front of a stack served on a real port: the issuer is its URL.
type rp struct {
	e         *apitest.Env
	issuer    string
	provider  *gooidc.Provider
	spa, web  oauth2.Config
	webSecret string
	// partnerSecret is the secret of "partner-backend", a confidential
	// client that is no first-party one.
	partnerSecret string
	op            *oidc.Provider // the test's side of the hosted login: Complete
	http          *http.Client   // follows no redirect
}

// newRP starts the stack, its configuration changed by opts.
func newRP(t testing.TB, opts ...apitest.Option) *rp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	webSecret, webHash, err := registry.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	partnerSecret, partnerHash, err := registry.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	clients := registry.Registry{
		{ID: "spa", Name: "The SPA", Type: registry.SPA, FirstParty: true, RedirectURIs: []string{spaRedirect},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:5173/"},
			Scopes:                 []string{"openid", "profile", "email", "offline_access", "users:read"}},
		{ID: "web", Name: "The web app", Type: registry.Web, FirstParty: true, RedirectURIs: []string{webRedirect}, SecretHash: webHash,
			Scopes: []string{"openid", "email"}},
		{ID: "partner", Name: "A partner's app", Type: registry.SPA, RedirectURIs: []string{partnerRedirect},
			Scopes: []string{"openid", "email", "offline_access", "users:read"}},
		{ID: "partner-backend", Name: "A partner's backend", Type: registry.Web, RedirectURIs: []string{partnerRedirect},
			SecretHash: partnerHash, Scopes: []string{"openid"}},
	}
	e := apitest.New(t, append([]apitest.Option{func(c *config.Config) { c.PublicURL, c.OIDCClients = issuer, clients }}, opts...)...)
	srv.Config.Handler = e.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	provider, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	scopes := []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}
	d := app.New(e.Config, e.DB, slog.New(slog.DiscardHandler), e.Clock.Now)
	return &rp{e: e, issuer: issuer, provider: provider, webSecret: webSecret, partnerSecret: partnerSecret, op: d.OIDC(),
		spa: oauth2.Config{ClientID: "spa", Endpoint: provider.Endpoint(), RedirectURL: spaRedirect, Scopes: scopes},
		web: oauth2.Config{ClientID: "web", ClientSecret: webSecret, Endpoint: provider.Endpoint(), RedirectURL: webRedirect,
			Scopes: []string{gooidc.ScopeOpenID, "email"}},
		http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authorize sends the browser to authURL and returns where it lands.
func (p *rp) authorize(t testing.TB, authURL string) *url.URL {
	t.Helper()
	res, err := p.http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("authorize: %d %s", res.StatusCode, b)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signIn runs the code flow of the SPA up to its callback: authorization
// request, the hosted login's hand-off (Complete, as the login page will),
// and returns the callback's query.
func (p *rp) signIn(t testing.TB, c oauth2.Config, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	login := p.authorize(t, c.AuthCodeURL("the-state", opts...))
	if login.Path != "/login" || !strings.HasPrefix(login.String(), p.issuer+"/login?auth_request=") {
		t.Fatalf("authorize sent the browser to %s, want the hosted login", login)
	}
	id := login.Query().Get("auth_request")
	ctx := context.Background()
	req, err := p.op.AuthRequest(ctx, id)
	if err != nil || req.ClientID != c.ClientID {
		t.Fatalf("AuthRequest: %+v, %v", req, err)
	}
	redirect, err := p.op.Complete(ctx, id, oidc.Signed{Org: p.e.Org.Org.ID, User: p.e.Org.Owner.ID, Person: p.e.Org.Owner.Person,
		Session: "ses_pages", AuthTime: p.e.Clock.Now(), AMR: []string{"pwd"}})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if _, err := p.op.Complete(ctx, id, oidc.Signed{Org: p.e.Org.Org.ID, User: p.e.Org.Owner.ID}); err == nil {
		t.Fatal("Complete succeeded twice for one authorization request")
	}
	u, err := url.Parse(redirect)
	if err != nil || !strings.HasPrefix(redirect, c.RedirectURL+"?") {
		t.Fatalf("Complete's redirect %q, want the client's %s", redirect, c.RedirectURL)
	}
	if q := u.Query(); q.Get("state") != "the-state" || q.Get("iss") != p.issuer || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	return u.Query()
}

func (p *rp) me(t *testing.T, access string) int {
	t.Helper()
	return p.e.Do("GET", "/v1/me", access, nil).Status
}

// tokenError is the OAuth error of a failed exchange.
func tokenError(t *testing.T, err error) string {
	t.Helper()
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want an OAuth error, got %v", err)
	}
	return re.ErrorCode
}

func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()

	t.Run("discovery names the issuer, the endpoints, S256 and RS256", func(t *testing.T) {
		var d oidc.Discovery
		if err := p.provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		if d.Issuer != p.issuer || d.TokenEndpoint != p.issuer+"/oauth/token" || d.CodeChallengeMethodsSupported[0] != "S256" ||
			d.IDTokenSigningAlgValuesSupported[0] != "RS256" || d.JWKSURI != p.issuer+"/.well-known/jwks.json" {
			t.Fatalf("%+v", d)
		}
	})

	verifier := oauth2.GenerateVerifier()
	q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(verifier), gooidc.Nonce("the-nonce"))
	tok, err := p.spa.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)

	t.Run("the id_token verifies against the JWKS with the usual claims", func(t *testing.T) {
		idt, err := p.provider.Verifier(&gooidc.Config{ClientID: "spa"}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var c oidc.IDClaims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		owner := p.e.Org.Owner
		if idt.Nonce != "the-nonce" || c.Subject != owner.Subject() || c.Email != owner.Email || c.EmailVerified == nil ||
			c.OrgID != p.e.Org.Org.ID || c.OrgCode != "acme" || c.SessionID == "" || c.AuthTime == 0 {
			t.Fatalf("claims %+v", c)
		}
	})
	t.Run("the id_token is signed with a kid of the JWKS, typ JWT", func(t *testing.T) {
		res, err := http.Get(p.issuer + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 || strings.Contains(string(b), `"d"`) {
			t.Fatalf("JWKS %s: %v", b, err)
		}
		var jwks = mustJWKS(t, b)
		if _, err := signing.Verify(jwks, raw, signing.IDToken); err != nil {
			t.Fatalf("signing.Verify: %v", err)
		}
	})
	t.Run("the access token opens the API", func(t *testing.T) {
		if s := p.me(t, tok.AccessToken); s != 200 {
			t.Fatalf("GET /v1/me: %d", s)
		}
	})
	t.Run("the code is one-time: presented again it is refused and its session ends", func(t *testing.T) {
		_, err := p.spa.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if code := tokenError(t, err); code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
		if s := p.me(t, tok.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me after the code's reuse: %d, want 401", s)
		}
	})
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()
	tok := p.tokens(t)
	if tok.RefreshToken == "" {
		t.Fatalf("exchange: no refresh token: %+v", tok)
	}
	next, err := p.spa.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", next, err)
	}
	if s := p.me(t, next.AccessToken); s != 200 {
		t.Fatalf("GET /v1/me with the refreshed token: %d", s)
	}
	t.Run("the rotated refresh token presented again (past the grace) ends the session", func(t *testing.T) {
		p.e.Clock.Advance(time.Minute)
		_, err := p.spa.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if code := tokenError(t, err); code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
		if s := p.me(t, next.AccessToken); s != 401 {
			t.Fatalf("GET /v1/me after reuse: %d, want 401", s)
		}
	})
}

func TestRefused(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	ctx := context.Background()

	t.Run("a wrong PKCE verifier is refused", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(v))
		_, err := p.spa.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if code := tokenError(t, err); code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
	})
	t.Run("a code without its verifier is refused", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(v))
		_, err := p.spa.Exchange(ctx, q.Get("code"))
		if code := tokenError(t, err); code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
	})
	t.Run("a code exchanged by another client is refused", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(v))
		web := p.web
		web.RedirectURL = spaRedirect
		_, err := web.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
		if code := tokenError(t, err); code != "invalid_grant" {
			t.Fatalf("error %q", code)
		}
	})
	t.Run("a confidential client with a wrong secret is refused", func(t *testing.T) {
		q := p.signIn(t, p.web)
		web := p.web
		web.ClientSecret = p.webSecret + "x"
		_, err := web.Exchange(ctx, q.Get("code"))
		if code := tokenError(t, err); code != "invalid_client" {
			t.Fatalf("error %q", code)
		}
		if _, err := p.web.Exchange(ctx, q.Get("code")); err != nil {
			t.Fatalf("the right secret: %v", err)
		}
	})
	t.Run("an unregistered redirect is answered by Guichet, never redirected to", func(t *testing.T) {
		c := p.spa
		c.RedirectURL = "https://evil.example/callback"
		res, err := p.http.Get(c.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 || res.Header.Get("Location") != "" {
			t.Fatalf("%d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
	for _, c := range []struct {
		name string
		opts []oauth2.AuthCodeOption
	}{
		{"a public client without PKCE is sent back with invalid_request", nil},
		{"the plain PKCE method is refused", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			back := p.authorize(t, p.spa.AuthCodeURL("s", c.opts...))
			if !strings.HasPrefix(back.String(), spaRedirect+"?") || back.Query().Get("error") != "invalid_request" || back.Query().Get("state") != "s" {
				t.Fatalf("sent to %s", back)
			}
		})
	}
	t.Run("a scope the client may not ask for is sent back with invalid_scope", func(t *testing.T) {
		c := p.spa
		c.Scopes = []string{"openid", "users:write"}
		back := p.authorize(t, c.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if back.Query().Get("error") != "invalid_scope" {
			t.Fatalf("sent to %s", back)
		}
	})
	t.Run("an id_token of another issuer is refused by the verifier of Guichet's", func(t *testing.T) {
		other, err := signing.NewKeySet(signing.ES256, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		forged, err := other.Sign(oidc.IDClaims{Issuer: p.issuer, Subject: "x", Audience: []string{"spa"},
			Expiry: time.Now().Add(time.Hour).Unix(), IssuedAt: time.Now().Unix()}, signing.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.provider.Verifier(&gooidc.Config{ClientID: "spa"}).Verify(ctx, forged); err == nil {
			t.Fatal("an id_token signed by a foreign key verified")
		}
	})
}

func TestClientCredentialsOfAServiceUser(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	owner := p.e.LoginOwner(t)
	var svc map[string]any
	p.e.Do("POST", "/v1/users", owner.AccessToken, map[string]any{"kind": "service", "user_code": "SVC0001",
		"client": "internal", "role": "admin", "all_units": true}).Decode(t, &svc)
	pw, _ := svc["password"].(string)
	post := func(user, secret string) (*http.Response, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}}
		req, _ := http.NewRequest("POST", p.issuer+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(secret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res, body
	}
	t.Run("organization code/user code and the password give an access token", func(t *testing.T) {
		res, body := post("acme/SVC0001", pw)
		tok, _ := body["access_token"].(string)
		if res.StatusCode != 200 || tok == "" || body["refresh_token"] != nil {
			t.Fatalf("%d %v", res.StatusCode, body)
		}
		if s := p.me(t, tok); s != 200 {
			t.Fatalf("GET /v1/me: %d", s)
		}
	})
	t.Run("a wrong password is invalid_client", func(t *testing.T) {
		res, body := post("acme/SVC0001", pw+"x")
		if res.StatusCode != 401 || body["error"] != "invalid_client" {
			t.Fatalf("%d %v", res.StatusCode, body)
		}
	})
	t.Run("/v1/auth/token keeps working", func(t *testing.T) {
		r := p.e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": "SVC0001", "password": pw})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
