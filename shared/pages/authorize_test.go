package pages_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/oidc/registry"
)

const (
	shopRedirect = "https://shop.example/callback"
	shopHome     = "https://shop.example/"
	verifier     = "a-pkce-verifier-of-forty-three-characters-or-more"
	// partnerRedirect is a third-party client's.
	partnerRedirect = "https://partner.example/cb"
)

func oidcEnv(t *testing.T) *apitest.Env {
	t.Helper()
	return apitest.New(t, func(c *config.Config) {
		c.OIDCClients = registry.Registry{{ID: "shop", Name: "Shop", Type: registry.SPA, FirstParty: true,
			RedirectURIs: []string{shopRedirect}, PostLogoutRedirectURIs: []string{shopHome},
			Scopes: []string{"openid", "email", "profile"}},
			{ID: "partner", Name: "Partner", Type: registry.SPA, RedirectURIs: []string{partnerRedirect},
				Scopes: []string{"openid", "users:read"}}}
	})
}

// authorize sends b to the authorization endpoint with extra and returns
// the hosted login's URL it is sent to.
func authorize(t *testing.T, b *browser, extra url.Values) string {
	t.Helper()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {"shop"}, "redirect_uri": {shopRedirect}, "response_type": {"code"}, "scope": {"openid email"},
		"state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		q[k] = v
	}
	return authorizeWith(t, b, q)
}

// authorizeWith sends b to the authorization endpoint with q.
func authorizeWith(t *testing.T, b *browser, q url.Values) string {
	t.Helper()
	res := b.get("/oauth/authorize?" + q.Encode())
	if res.status != http.StatusFound || !strings.Contains(res.header.Get("Location"), "/login?auth_request=oar_") {
		t.Fatalf("authorize: %d %s %s", res.status, res.header.Get("Location"), res.body)
	}
	return res.header.Get("Location")
}

// backToShop is the client redirect a response leads to, by its Location
// or by the page's meta refresh.
func backToShop(t *testing.T, res *page) url.Values {
	t.Helper()
	return backTo(t, res, shopRedirect)
}

// backTo is backToShop for the client whose redirect is redirect.
func backTo(t *testing.T, res *page, redirect string) url.Values {
	t.Helper()
	to := res.header.Get("Location")
	if to == "" {
		m := regexp.MustCompile(`http-equiv="refresh" content="0;url=([^"]+)"`).FindStringSubmatch(res.body)
		if m == nil {
			t.Fatalf("no way back to the client: %d\n%s", res.status, res.body)
		}
		to = html.UnescapeString(m[1])
	}
	u, err := url.Parse(to)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != redirect {
		t.Fatalf("sent to %q", to)
	}
	if u.Query().Get("state") != "st" {
		t.Fatalf("state lost: %s", to)
	}
	return u.Query()
}

// signIn signs b in on the login page of an authorization request and
// returns the callback's query.
func signIn(t *testing.T, b *browser, login, password string, extra url.Values) url.Values {
	t.Helper()
	form := b.get(authorize(t, b, extra))
	form.expect(t, 200, "Sign in to continue to Shop.")
	res := b.submit(form, "/login", url.Values{"login": {login}, "password": {password},
		"auth_request": {form.hidden(t, "auth_request")}})
	res.expect(t, 200)
	return backToShop(t, res)
}

func TestTheHostedLoginAnswersAuthorizationRequests(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	t.Run("prompt=none without a browser session goes back with login_required, once", func(t *testing.T) {
		b := newBrowser(t, e)
		login := authorize(t, b, url.Values{"prompt": {"none"}})
		q := backToShop(t, b.get(login))
		if q.Get("error") != "login_required" || q.Get("code") != "" {
			t.Fatalf("callback %v", q)
		}
		b.get(login).expect(t, http.StatusGone, "This sign-in request expired")
	})
	t.Run("an unknown or malformed request is a page, never a redirect", func(t *testing.T) {
		b := newBrowser(t, e)
		b.get("/login?auth_request=oar_aaaaaaaaaaaaaaaa").expect(t, http.StatusGone, "This sign-in request expired")
		b.get("/login?auth_request=%22%3E%3Cscript%3E").expect(t, http.StatusGone)
	})
	t.Run("a sign-in completes the request; the browser's session then signs in without a password", func(t *testing.T) {
		b := newBrowser(t, e)
		if q := signIn(t, b, e.Org.Owner.Email, apitest.OwnerPassword, nil); !strings.HasPrefix(q.Get("code"), "goc_") {
			t.Fatalf("callback %v", q)
		}
		if b.cookies["__Host-guichet_sso"] == "" {
			t.Fatalf("no single sign-on cookie: %v", b.cookies)
		}
		res := b.get(authorize(t, b, nil))
		if res.status != http.StatusFound {
			t.Fatalf("second authorization: %d\n%s", res.status, res.body)
		}
		if q := backToShop(t, res); !strings.HasPrefix(q.Get("code"), "goc_") {
			t.Fatalf("callback %v", q)
		}
		// prompt=login and a max_age older than the sign-in ask again.
		b.get(authorize(t, b, url.Values{"prompt": {"login"}})).expect(t, 200, "Sign in to continue to Shop.")
		e.Clock.Advance(2 * time.Minute)
		b.get(authorize(t, b, url.Values{"max_age": {"60"}})).expect(t, 200, "Sign in to continue to Shop.")
		if res := b.get(authorize(t, b, url.Values{"max_age": {"600"}})); res.status != http.StatusFound {
			t.Fatalf("max_age within the sign-in: %d", res.status)
		}
	})
	t.Run("the browser's session ends BROWSER_SESSION_TTL after the sign-in", func(t *testing.T) {
		b := newBrowser(t, e)
		signIn(t, b, e.Org.Owner.Email, apitest.OwnerPassword, nil)
		e.Clock.Advance(e.Config.BrowserTTL - time.Minute)
		if res := b.get(authorize(t, b, nil)); res.status != http.StatusFound {
			t.Fatalf("within its lifetime: %d", res.status)
		}
		e.Clock.Advance(2 * time.Minute)
		b.get(authorize(t, b, nil)).expect(t, 200, "Sign in to continue to Shop.")
	})
	t.Run("a deactivated person's browser session signs in nobody", func(t *testing.T) {
		u := e.AddUser(t, "leaving@acme.example", "member")
		b := newBrowser(t, e)
		signIn(t, b, "leaving@acme.example", apitest.UserPassword, nil)
		owner := e.LoginOwner(t)
		if r := e.Do("POST", "/v1/users/"+u.ID+"/status", owner.AccessToken, map[string]string{"status": "inactive"}); r.Status != 200 {
			t.Fatalf("deactivate: %d %s", r.Status, r.Body)
		}
		b.get(authorize(t, b, nil)).expect(t, 200, "Sign in to continue to Shop.")
	})
	t.Run("ui_locales and login_hint fill the form", func(t *testing.T) {
		b := newBrowser(t, e)
		res := b.get(authorize(t, b, url.Values{"ui_locales": {"nl-BE fr"}, "login_hint": {"someone@acme.example"}}))
		res.expect(t, 200, "Meld u aan om verder te gaan naar Shop.")
		if res.value("login") != "someone@acme.example" {
			t.Fatalf("login_hint not filled in:\n%s", res.body)
		}
	})
	t.Run("logging out with another person's id_token leaves the browser's session alone", func(t *testing.T) {
		victim, other := newBrowser(t, e), newBrowser(t, e)
		signIn(t, victim, e.Org.Owner.Email, apitest.OwnerPassword, nil)
		e.AddUser(t, "other@acme.example", "member")
		form := other.get(authorize(t, other, nil))
		q := backToShop(t, other.submit(form, "/login", url.Values{"login": {"other@acme.example"}, "password": {apitest.UserPassword},
			"auth_request": {form.hidden(t, "auth_request")}}))
		idToken := exchange(t, e, q.Get("code"))
		res := victim.get("/oauth/logout?" + url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {shopHome}}.Encode())
		if res.status != http.StatusFound {
			t.Fatalf("logout: %d %s", res.status, res.body)
		}
		if res := victim.get(authorize(t, victim, url.Values{"prompt": {"none"}})); res.status != http.StatusFound || backToShop(t, res).Get("code") == "" {
			t.Fatalf("the victim's browser session ended: %d", res.status)
		}
		// Its own id_token signs the other browser out.
		res = other.get("/oauth/logout?" + url.Values{"id_token_hint": {idToken}}.Encode())
		if res.status != http.StatusOK || other.cookies["__Host-guichet_sso"] != "" {
			t.Fatalf("logout: %d, cookies %v", res.status, other.cookies)
		}
		if q := backToShop(t, other.get(authorize(t, other, url.Values{"prompt": {"none"}}))); q.Get("error") != "login_required" {
			t.Fatalf("after logout: %v", q)
		}
	})
	t.Run("logging out without a hint ends the browser's session too (a shared computer)", func(t *testing.T) {
		b := newBrowser(t, e)
		signIn(t, b, e.Org.Owner.Email, apitest.OwnerPassword, nil)
		res := b.get("/oauth/logout?" + url.Values{"client_id": {"shop"}, "post_logout_redirect_uri": {shopHome}}.Encode())
		if res.status != http.StatusFound || b.cookies["__Host-guichet_sso"] != "" {
			t.Fatalf("logout: %d, cookies %v", res.status, b.cookies)
		}
		if q := backToShop(t, b.get(authorize(t, b, url.Values{"prompt": {"none"}}))); q.Get("error") != "login_required" {
			t.Fatalf("after logout: %v", q)
		}
	})
}

// exchange swaps code for tokens as the shop's back end would, and
// returns the id_token.
func exchange(t *testing.T, e *apitest.Env, code string) string {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"shop"},
		"redirect_uri": {shopRedirect}, "code_verifier": {verifier}}
	b := newBrowser(t, e)
	res := b.do("POST", "/oauth/token", "application/x-www-form-urlencoded", form.Encode())
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if res.status != 200 || json.Unmarshal([]byte(res.body), &tok) != nil || tok.IDToken == "" {
		t.Fatalf("token: %d %s", res.status, res.body)
	}
	return tok.IDToken
}

func TestPagesLeadBackToTheirApplication(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	signInWith := func(t *testing.T, query string) *page {
		b := newBrowser(t, e)
		return b.submit(b.get("/login?"+query), "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword},
			"client_id": {"shop"}, "return_to": {mustQuery(t, query).Get("return_to")}})
	}
	t.Run("a registered return_to", func(t *testing.T) {
		res := signInWith(t, "client_id=shop&return_to="+url.QueryEscape(shopHome))
		res.expect(t, 200, "Back to Shop")
		if !strings.Contains(res.body, `href="`+shopHome+`"`) {
			t.Fatalf("no link back:\n%s", res.body)
		}
	})
	t.Run("any other address is dropped", func(t *testing.T) {
		for _, to := range []string{"https://evil.example/", shopHome + "x", "javascript:alert(1)"} {
			res := signInWith(t, "client_id=shop&return_to="+url.QueryEscape(to))
			res.expect(t, 200, "Continue to the app")
			if strings.Contains(res.body, "evil.example") || strings.Contains(res.body, "javascript:") || strings.Contains(res.body, shopHome+"x") {
				t.Fatalf("%s kept:\n%s", to, res.body)
			}
		}
	})
}

func TestAnInvitationLeadsBackToTheApplicationThatSentIt(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	owner := e.LoginOwner(t)
	for _, to := range []string{"https://evil.example/", shopRedirect + "?x=1"} {
		r := e.Do("POST", "/v1/invitations", owner.AccessToken, map[string]any{"email": "grace@acme.example", "role": "member",
			"client_id": "shop", "return_to": to})
		if p := r.Problem(t, http.StatusUnprocessableEntity); len(p.Errors) != 1 || p.Errors[0].Field != "return_to" {
			t.Fatalf("%s: %+v", to, p)
		}
	}
	r := e.Do("POST", "/v1/invitations", owner.AccessToken, map[string]any{"email": "grace@acme.example", "role": "member",
		"client_id": "shop", "return_to": shopHome})
	inv := r.Object(t, http.StatusCreated)
	if inv["client_id"] != "shop" || inv["return_to"] != shopHome {
		t.Fatalf("invitation %v", inv)
	}
	link := lastLink(t, e, "grace@acme.example")
	if link != inv["link"] || !strings.Contains(link, "return_to="+url.QueryEscape(shopHome)) {
		t.Fatalf("mailed link %s, answered %v", link, inv["link"])
	}
	b := newBrowser(t, e)
	page := b.get(link)
	if page.hidden(t, "return_to") != shopHome || page.hidden(t, "client_id") != "shop" {
		t.Fatal("the invitation page's form does not carry return_to")
	}
	res := b.submit(page, "/invite", url.Values{"token": {apitest.LinkToken(t, link)}, "password": {"a-long-new-password-1"},
		"confirm": {"a-long-new-password-1"}, "first_name": {"Grace"}, "last_name": {"Hopper"}, "client_id": {"shop"}, "return_to": {shopHome}})
	res.expect(t, 200, "You are signed in as", "Back to Shop")
	// The application's code flow then signs Grace in without a password.
	if res := b.get(authorize(t, b, nil)); res.status != http.StatusFound || backToShop(t, res).Get("code") == "" {
		t.Fatalf("after the invitation: %d %s", res.status, res.body)
	}
}

func TestAResetLeadsBackToTheApplicationThatAskedForIt(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	bad := e.Do("POST", "/v1/password-resets", "", map[string]any{"email": e.Org.Owner.Email, "client_id": "shop", "return_to": "https://evil.example/"})
	if p := bad.Problem(t, http.StatusUnprocessableEntity); len(p.Errors) != 1 || p.Errors[0].Field != "return_to" {
		t.Fatalf("%+v", p)
	}
	if r := e.Do("POST", "/v1/password-resets", "", map[string]any{"email": e.Org.Owner.Email, "client_id": "shop", "return_to": shopHome}); r.Status != http.StatusAccepted {
		t.Fatalf("ask: %d %s", r.Status, r.Body)
	}
	link := lastLink(t, e, e.Org.Owner.Email)
	b := newBrowser(t, e)
	page := b.get(link)
	if page.hidden(t, "return_to") != shopHome {
		t.Fatalf("the reset form does not carry return_to (link %s)", link)
	}
	res := b.submit(page, "/reset", url.Values{"token": {apitest.LinkToken(t, link)}, "password": {"a-long-new-password-2"},
		"confirm": {"a-long-new-password-2"}, "client_id": {"shop"}, "return_to": {shopHome}})
	res.expect(t, 200, "Back to Shop")
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTheInvitedPersonJoinsWithTheBrowsersSession: a person signed in on
// the pages opens an invitation to their own address from another
// organization and joins with one button, no password; anyone else's
// browser sees the usual form.
func TestTheInvitedPersonJoinsWithTheBrowsersSession(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	if _, _, err := e.Stack.Seed(t.Context(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword); err != nil {
		t.Fatal(err)
	}
	beta := e.Login(t, "owner@beta.example", apitest.OwnerPassword)
	if r := e.Do("POST", "/v1/invitations", beta.AccessToken, map[string]any{"email": e.Org.Owner.Email, "role": "member"}); r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	link := lastLink(t, e, e.Org.Owner.Email)

	other := newBrowser(t, e)
	other.submit(other.get("/login"), "/login", url.Values{"login": {"owner@beta.example"}, "password": {apitest.OwnerPassword}}).expect(t, 200)
	if page := other.get(link); strings.Contains(page.body, `name="as_signed_in"`) || !strings.Contains(page.body, `name="password"`) {
		t.Fatalf("another person's browser is offered to join:\n%s", page.body)
	}

	// A post without the invited person's session joins nobody.
	for _, br := range []*browser{newBrowser(t, e), other} {
		br.submit(br.get(link), "/invite", url.Values{"token": {apitest.LinkToken(t, link)}, "as_signed_in": {"1"}}).
			expect(t, http.StatusUnauthorized, "You are no longer signed in as the invited person")
	}

	b := newBrowser(t, e)
	b.submit(b.get("/login"), "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword}}).expect(t, 200)
	page := b.get(link)
	page.expect(t, 200, "join with this account")
	if strings.Contains(page.body, `name="password"`) {
		t.Fatalf("a password is asked of the signed-in person:\n%s", page.body)
	}
	e.Clock.Advance(3 * time.Hour)
	res := b.submit(page, "/invite", url.Values{"token": {apitest.LinkToken(t, link)}, "as_signed_in": {"1"}})
	res.expect(t, 200, "You are signed in as")
	// Joining asked for no password: the browser's session keeps the
	// sign-in's time, and a max_age younger than it still asks.
	b.get(authorize(t, b, url.Values{"max_age": {"60"}})).expect(t, 200, "Sign in to continue to Shop.")
	me := e.Do("GET", "/v1/me", b.cookies["__Host-guichet_session"], nil).Object(t, 200)
	if org, _ := me["organization"].(map[string]any); org["code"] != "beta" {
		t.Fatalf("the new session is not the new membership's: %v", me["organization"])
	}
}

// TestAThirdPartyClientAsksForConsent: the hosted login asks the person
// before a client that is not the deployment's own gets a code, listing
// what it asks; denying sends it back with access_denied, and prompt=none
// cannot skip the page.
func TestAThirdPartyClientAsksForConsent(t *testing.T) {
	t.Parallel()
	e := oidcEnv(t)
	sum := sha256.Sum256([]byte(verifier))
	partner := func(extra ...string) url.Values {
		q := url.Values{"client_id": {"partner"}, "redirect_uri": {partnerRedirect}, "response_type": {"code"},
			"scope": {"openid users:read"}, "state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
			"code_challenge_method": {"S256"}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		return q
	}
	b := newBrowser(t, e)
	form := b.get(authorizeWith(t, b, partner()))
	consent := b.submit(form, "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword},
		"auth_request": {form.hidden(t, "auth_request")}})
	consent.expect(t, 200, "Allow this application?", "Partner asks to act for you", "See the organization's users and roles")
	if strings.Contains(consent.body, "code=goc_") {
		t.Fatal("a code before the consent")
	}
	q := backTo(t, b.submit(consent, "/login/consent", url.Values{"auth_request": {consent.hidden(t, "auth_request")}, "decision": {"allow"}}), partnerRedirect)
	if !strings.HasPrefix(q.Get("code"), "goc_") {
		t.Fatalf("allowed: %v", q)
	}
	// With the browser's session: the consent page again, at once.
	again := b.get(authorizeWith(t, b, partner()))
	again.expect(t, 200, "Allow this application?")
	if q := backTo(t, b.submit(again, "/login/consent", url.Values{"auth_request": {again.hidden(t, "auth_request")}, "decision": {"deny"}}), partnerRedirect); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("denied: %v", q)
	}
	silent := authorizeWith(t, b, partner("prompt", "none"))
	if q := backTo(t, b.get(silent), partnerRedirect); q.Get("error") != "consent_required" {
		t.Fatalf("prompt=none: %v", q)
	}
	// A consent posted without the browser's session (and the consent
	// form's CSRF field) completes nothing.
	other := newBrowser(t, e)
	page := other.get(authorizeWith(t, other, partner()))
	page.expect(t, 200, "Sign in to continue to Partner.")
	res := other.submit(page, "/login/consent", url.Values{"auth_request": {page.hidden(t, "auth_request")}, "decision": {"allow"}})
	if res.status < 400 || strings.Contains(res.body, "goc_") {
		t.Fatalf("consent without a session: %d", res.status)
	}
}
