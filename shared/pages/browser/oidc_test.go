package browser_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/oidc/registry"
)

// relyingParty is an application with two clients of the deployment, a
// single-page app (public, PKCE) and a web app (confidential), served at
// http://localhost:<port>: another site than the provider's
// http://127.0.0.1:<port>, so that the browser treats the hand-off as the
// cross-site navigation it is in production. It uses go-oidc and
// x/oauth2 only: discovery, the code flow with PKCE, the id_token checked
// against the JWKS.
type relyingParty struct {
	base     string
	provider *gooidc.Provider
	clients  map[string]oauth2.Config

	mu      sync.Mutex
	pending map[string]string // state → PKCE verifier
	results map[string]result // by client
}

// result is what a callback got.
type result struct {
	token   *oauth2.Token
	idToken string
	claims  struct {
		Subject  string `json:"sub"`
		SID      string `json:"sid"`
		AuthTime int64  `json:"auth_time"`
		OrgCode  string `json:"org_code"`
		Email    string `json:"email"`
	}
	err string // the error the provider sent back
}

// oidcStack starts the deployment with the relying party's clients, and
// the relying party.
func oidcStack(t *testing.T) (*apitest.Env, string, *relyingParty) {
	t.Helper()
	rpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(rpLn.Addr().String())
	p := &relyingParty{base: "http://localhost:" + port, pending: map[string]string{}, results: map[string]result{}}
	webSecret, webHash, err := registry.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	clients := registry.Registry{
		{ID: "spa", Name: "Shop", Type: registry.SPA, FirstParty: true, RedirectURIs: []string{p.base + "/callback/spa"},
			PostLogoutRedirectURIs: []string{p.base + "/"}, Scopes: []string{"openid", "profile", "email", "offline_access"}},
		{ID: "web", Name: "Back office", Type: registry.Web, FirstParty: true, RedirectURIs: []string{p.base + "/callback/web"},
			SecretHash: webHash, Scopes: []string{"openid", "email"}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	e := apitest.New(t, func(c *config.Config) { c.PublicURL, c.OIDCClients = base, clients })
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	if p.provider, err = gooidc.NewProvider(context.Background(), base); err != nil {
		t.Fatalf("discovery: %v", err)
	}
	p.clients = map[string]oauth2.Config{
		"spa": {ClientID: "spa", Endpoint: p.provider.Endpoint(), RedirectURL: p.base + "/callback/spa",
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}},
		"web": {ClientID: "web", ClientSecret: webSecret, Endpoint: p.provider.Endpoint(), RedirectURL: p.base + "/callback/web",
			Scopes: []string{gooidc.ScopeOpenID, "email"}},
	}
	rp := &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}
	go rp.Serve(rpLn)
	t.Cleanup(func() { rp.Close() })
	return e, base, p
}

func (p *relyingParty) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start/{client}", func(w http.ResponseWriter, r *http.Request) {
		c, ok := p.clients[r.PathValue("client")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b := make([]byte, 16)
		rand.Read(b)
		state, verifier := hex.EncodeToString(b), oauth2.GenerateVerifier()
		p.mu.Lock()
		p.pending[state] = verifier
		p.mu.Unlock()
		opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
		if prompt := r.URL.Query().Get("prompt"); prompt != "" {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
		}
		http.Redirect(w, r, c.AuthCodeURL(state, opts...), http.StatusFound)
	})
	mux.HandleFunc("GET /callback/{client}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("client")
		c, q := p.clients[name], r.URL.Query()
		p.mu.Lock()
		verifier, ok := p.pending[q.Get("state")]
		delete(p.pending, q.Get("state"))
		p.mu.Unlock()
		var res result
		err := func() error {
			if !ok {
				return fmt.Errorf("unknown state")
			}
			if q.Get("iss") != p.provider.Endpoint().AuthURL[:strings.Index(p.provider.Endpoint().AuthURL, "/oauth/")] {
				return fmt.Errorf("iss %q", q.Get("iss"))
			}
			if e := q.Get("error"); e != "" {
				res.err = e
				return nil
			}
			tok, err := c.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				return err
			}
			raw, _ := tok.Extra("id_token").(string)
			id, err := p.provider.Verifier(&gooidc.Config{ClientID: c.ClientID}).Verify(r.Context(), raw)
			if err != nil {
				return err
			}
			res.token, res.idToken = tok, raw
			return id.Claims(&res.claims)
		}()
		msg := "signed in " + res.claims.Subject
		if err != nil {
			msg = "failed: " + err.Error()
		} else if res.err != "" {
			msg = "error " + res.err
		}
		if err == nil {
			p.mu.Lock()
			p.results[name] = res
			p.mu.Unlock()
		}
		fmt.Fprintf(w, `<!doctype html><p id="result">%s</p>`, html.EscapeString(msg))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><p id="result">home</p>`)
	})
	return mux
}

func (p *relyingParty) result(t *testing.T, client string) result {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	res, ok := p.results[client]
	if !ok {
		t.Fatalf("no callback of %s", client)
	}
	return res
}

// landOn navigates to the relying party's url and returns the result
// its callback shows.
func landOn(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	var text string
	if err := chromedp.Run(ctx, chromedp.Navigate(url), chromedp.WaitVisible("#result", chromedp.ByID),
		chromedp.Text("#result", &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	return text
}

// TestSingleSignOnOfTwoApplicationsInABrowser drives the whole OpenID
// Connect flow with a relying party independent of Guichet: the code flow
// with PKCE through the hosted login in Chromium, a second application
// signed in by the browser's session without a password, the refresh,
// and RP-initiated logout ending the browser's session.
func TestSingleSignOnOfTwoApplicationsInABrowser(t *testing.T) {
	e, base, p := oidcStack(t)
	ctx := tab(t)

	var notice, location string
	err := chromedp.Run(ctx,
		chromedp.Navigate(p.base+"/start/spa"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.Text("#notice", &notice, chromedp.ByID),
		chromedp.Location(&location),
		chromedp.SendKeys("#login", e.Org.Owner.Email, chromedp.ByID),
		chromedp.SendKeys("#password", apitest.OwnerPassword, chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if notice != "Sign in to continue to Shop." || !strings.HasPrefix(location, base+"/login?auth_request=oar_") {
		t.Fatalf("the hosted login at %s says %q", location, notice)
	}
	var text string
	if err := chromedp.Run(ctx, chromedp.WaitVisible("#result", chromedp.ByID), chromedp.Text("#result", &text, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	spa := p.result(t, "spa")
	if text != "signed in "+spa.claims.Subject || spa.claims.Subject == "" || spa.claims.OrgCode != "acme" || spa.claims.Email != e.Org.Owner.Email {
		t.Fatalf("the SPA's callback: %q, claims %+v", text, spa.claims)
	}
	if spa.token.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	var me map[string]any
	api(t, "GET", base+"/v1/me", spa.token.AccessToken, nil, &me)
	if me["email"] != e.Org.Owner.Email {
		t.Fatalf("the SPA's access token: %v", me)
	}

	// The single sign-on cookie: HttpOnly, Lax (it must come with the
	// application's navigation to the provider), a token that refreshes
	// nothing.
	var cookies []*network.Cookie
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithUrls([]string{base}).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	var sso *network.Cookie
	for _, c := range cookies {
		if c.Name == "guichet_sso" {
			sso = c
		}
	}
	if sso == nil || !sso.HTTPOnly || sso.SameSite != network.CookieSameSiteLax {
		t.Fatalf("single sign-on cookie %+v", sso)
	}
	if r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": sso.Value}); r.Status != http.StatusUnauthorized {
		t.Fatalf("the browser session's token refreshed at /v1/auth/refresh: %d", r.Status)
	}

	// The second application: no password, the same sign-in.
	if got := landOn(t, ctx, p.base+"/start/web"); !strings.HasPrefix(got, "signed in ") {
		t.Fatalf("the web app's callback: %q", got)
	}
	web := p.result(t, "web")
	if web.claims.Subject != spa.claims.Subject || web.claims.AuthTime != spa.claims.AuthTime || web.claims.SID == spa.claims.SID {
		t.Fatalf("web app's claims %+v, SPA's %+v: want one person, one sign-in, two sessions", web.claims, spa.claims)
	}
	// prompt=login asks for the password again.
	if err := chromedp.Run(ctx, chromedp.Navigate(p.base+"/start/web?prompt=login"), chromedp.WaitVisible("#password", chromedp.ByID)); err != nil {
		t.Fatal(err)
	}

	// The SPA refreshes with go-oauth2's token source.
	old := *spa.token
	old.Expiry = time.Now().Add(-time.Minute)
	spaConf := p.clients["spa"]
	fresh, err := spaConf.TokenSource(context.Background(), &old).Token()
	if err != nil || fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}

	// RP-initiated logout ends the SPA's session and the browser's: the
	// web app can no longer sign in silently.
	q := url.Values{"id_token_hint": {spa.idToken}, "post_logout_redirect_uri": {p.base + "/"}}
	if got := landOn(t, ctx, base+"/oauth/logout?"+q.Encode()); got != "home" {
		t.Fatalf("after logout: %q", got)
	}
	if r := e.Do("GET", "/v1/me", fresh.AccessToken, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the SPA's session outlived its logout: %d", r.Status)
	}
	if got := landOn(t, ctx, p.base+"/start/web?prompt=none"); got != "error login_required" {
		t.Fatalf("silent sign-in after logout: %q", got)
	}
	var me2 map[string]any
	api(t, "GET", base+"/v1/me", web.token.AccessToken, nil, &me2) // the web app's own session lives on
}

// TestTheHostedLoginStepsInsideAnAuthorizationRequest: a person of two
// organizations signs in to an application through the organization
// step; the authorization request travels through the step's form.
func TestTheHostedLoginStepsInsideAnAuthorizationRequest(t *testing.T) {
	e, base, p := oidcStack(t)
	ctx := tab(t)
	if _, _, err := e.Stack.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword); err != nil {
		t.Fatal(err)
	}
	var beta struct {
		AccessToken string `json:"access_token"`
	}
	api(t, "POST", base+"/v1/auth/login", "", map[string]string{"login": "owner@beta.example", "password": apitest.OwnerPassword}, &beta)
	var inv struct {
		Link string `json:"link"`
	}
	api(t, "POST", base+"/v1/invitations", beta.AccessToken, map[string]any{"email": e.Org.Owner.Email, "role": "member"}, &inv)
	api(t, "POST", base+"/v1/invitations/accept", "", map[string]string{"token": apitest.LinkToken(t, inv.Link), "password": apitest.OwnerPassword}, nil)

	var text string
	err := chromedp.Run(ctx,
		chromedp.Navigate(p.base+"/start/spa"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.SendKeys("#login", e.Org.Owner.Email, chromedp.ByID),
		chromedp.SendKeys("#password", apitest.OwnerPassword, chromedp.ByID),
		chromedp.Click(submit, chromedp.ByQuery),
		chromedp.WaitVisible(`button.choice[value="`+orgID(t, beta.AccessToken, base)+`"]`, chromedp.ByQuery),
		chromedp.Click(`button.choice[value="`+orgID(t, beta.AccessToken, base)+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#result", chromedp.ByID),
		chromedp.Text("#result", &text, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if res := p.result(t, "spa"); !strings.HasPrefix(text, "signed in ") || res.claims.OrgCode != "beta" {
		t.Fatalf("callback %q, claims %+v", text, res.claims)
	}
}
