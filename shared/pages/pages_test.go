package pages_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/pages"
	"github.com/guichet/guichet/shared/route"
)

// browser is a minimal browser over the local gateway: it keeps cookies
// (by name, whatever their attributes) and sends forms.
type browser struct {
	t       *testing.T
	e       *apitest.Env
	cookies map[string]string
	header  map[string]string
}

func newBrowser(t *testing.T, e *apitest.Env) *browser {
	return &browser{t: t, e: e, cookies: map[string]string{}, header: map[string]string{}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, target, contentType, body string) *page {
	b.t.Helper()
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		target = u.RequestURI() // a link from an e-mail
	}
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.e.Handler().ServeHTTP(w, req)
	res := w.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return &page{status: w.Code, header: w.Header(), body: w.Body.String()}
}

func (b *browser) get(target string) *page { return b.do("GET", target, "", "") }

// submit posts form to action with the CSRF field of the page p holds.
func (b *browser) submit(p *page, action string, form url.Values) *page {
	b.t.Helper()
	form.Set("csrf", p.hidden(b.t, "csrf"))
	return b.do("POST", action, "application/x-www-form-urlencoded", form.Encode())
}

func (p *page) hidden(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no hidden field %q in:\n%s", name, p.body)
	}
	return html.UnescapeString(m[1])
}

// value is the value attribute of input name ("" when none).
func (p *page) value(name string) string {
	m := regexp.MustCompile(`<input id="` + name + `" name="` + name + `" type="[^"]*"(?: value="([^"]*)")?`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (p *page) fieldError(name string) string {
	m := regexp.MustCompile(`id="` + name + `-error">([^<]*)<`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (p *page) text() string { return html.UnescapeString(p.body) }

func (p *page) expect(t *testing.T, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.text(), s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
	if ct := p.header.Get("Content-Type"); status != 0 && !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("content type %q", ct)
	}
}

// invite invites email through the API and returns the link of its mail.
func invite(t *testing.T, e *apitest.Env, email string) string {
	t.Helper()
	owner := e.LoginOwner(t)
	r := e.Do("POST", "/v1/invitations", owner.AccessToken, map[string]any{"email": email, "role": "member"})
	if r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	return lastLink(t, e, email)
}

// lastLink is the first link of the newest mail to address.
func lastLink(t *testing.T, e *apitest.Env, address string) string {
	t.Helper()
	for _, m := range e.Outbox.Messages() { // newest first
		if slices.Contains(m.To, address) && len(m.Links) > 0 {
			return m.Links[0]
		}
	}
	t.Fatalf("no mail with a link to %s", address)
	return ""
}

func TestEveryPageIsStrict(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	b := newBrowser(t, e)
	link := invite(t, e, "strict@acme.example")
	login := b.get("/login")
	cases := map[string]*page{
		"the invitation page":      b.get(link),
		"an unknown link's page":   b.get("/invite?token=nope"),
		"the reset page's refusal": b.get("/reset?token=nope"),
		"the forgot page":          b.get("/forgot"),
		"the login page":           login,
		"a refused post":           b.do("POST", "/login", "application/x-www-form-urlencoded", "login=a&password=b"),
		"a failed login":           b.submit(login, "/login", url.Values{"login": {"x@acme.example"}, "password": {"wrong-password"}}),
		"the stylesheet":           b.get("/assets/guichet.css"),
	}
	for name, p := range cases {
		t.Run(name+" sends the security headers", func(t *testing.T) {
			want := map[string]string{
				"Content-Security-Policy": pages.ContentSecurityPolicy,
				"Referrer-Policy":         "no-referrer",
				"X-Content-Type-Options":  "nosniff",
			}
			if name != "the stylesheet" {
				want["X-Frame-Options"] = "DENY"
				want["Cache-Control"] = "no-store"
			}
			for k, v := range want {
				if got := p.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			csp := p.header.Get("Content-Security-Policy")
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP allows scripts or inline code: %s", csp)
			}
			if strings.Contains(p.body, "<script") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") {
				t.Errorf("inline script or style in the page")
			}
		})
	}
	t.Run("the stylesheet is CSS", func(t *testing.T) {
		p := cases["the stylesheet"]
		if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/css") || !strings.Contains(p.body, "body {") {
			t.Fatalf("%d %q", p.status, p.header.Get("Content-Type"))
		}
	})
}

func TestPagesSpeakTheVisitorsLanguage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	cases := []struct {
		name, query, accept, lang, title string
	}{
		{"English by default", "", "", "en", "Sign in"},
		{"French from ?lang=fr", "?lang=fr", "nl", "fr", "Connexion"},
		{"Dutch from Accept-Language", "", "nl-BE,nl;q=0.9,en;q=0.5", "nl", "Aanmelden"},
		{"the best supported language of Accept-Language", "", "de-DE,fr;q=0.8,en;q=0.7", "fr", "Connexion"},
		{"Accept-Language when ?lang= is not supported", "?lang=de", "fr-BE", "fr", "Connexion"},
		{"English when nothing is supported", "", "de, es;q=0.5", "en", "Sign in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t, e)
			if c.accept != "" {
				b.header["Accept-Language"] = c.accept
			}
			p := b.get("/login" + c.query)
			p.expect(t, 200, `<html lang="`+c.lang+`">`, "<h1>"+c.title+"</h1>")
		})
	}
	t.Run("a post answers in the language of its form", func(t *testing.T) {
		b := newBrowser(t, e)
		p := b.get("/forgot?lang=nl")
		p = b.submit(p, "/forgot", url.Values{"lang": {"nl"}, "email": {"not-an-address"}})
		p.expect(t, 422, "Vul een e-mailadres in")
	})
	t.Run("the invitation page links itself in the other languages, token kept", func(t *testing.T) {
		link := invite(t, e, "polyglot@acme.example")
		tok, _ := url.Parse(link)
		p := newBrowser(t, e).get(link + "&lang=fr")
		p.expect(t, 200, "Acceptez votre invitation", "/invite?lang=nl&token="+url.QueryEscape(tok.Query().Get("token")))
	})
}

func TestTheCatalogIsComplete(t *testing.T) {
	t.Parallel()
	for _, lang := range language.Supported() {
		for _, key := range pages.CatalogKeys() {
			if !pages.Translated(lang, key) {
				t.Errorf("%s lacks %q", lang, key)
			}
		}
	}
}

func TestInvitationPage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	t.Run("it shows what the link invites to", func(t *testing.T) {
		p := newBrowser(t, e).get(invite(t, e, "preview@acme.example"))
		p.expect(t, 200, "Acme", "preview@acme.example", `<dd id="invite-role">Member</dd>`, `name="first_name"`, `name="confirm"`)
	})
	t.Run("a post without the CSRF cookie is refused and creates nothing", func(t *testing.T) {
		link := invite(t, e, "csrf@acme.example")
		b := newBrowser(t, e)
		p := b.get(link)
		form := url.Values{"token": {p.hidden(t, "token")}, "first_name": {"C"}, "last_name": {"S"},
			"password": {"a-good-password-1"}, "confirm": {"a-good-password-1"}, "csrf": {p.hidden(t, "csrf")}}
		clear(b.cookies)
		res := b.do("POST", "/invite", "application/x-www-form-urlencoded", form.Encode())
		res.expect(t, 403, "did not come from this site")
		newBrowser(t, e).get(link).expect(t, 200, "csrf@acme.example") // still pending
	})
	t.Run("validation errors show next to their fields and keep what was typed but passwords", func(t *testing.T) {
		b := newBrowser(t, e)
		p := b.get(invite(t, e, "typo@acme.example"))
		res := b.submit(p, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"Zoé <b>"}, "last_name": {""},
			"password": {"short"}, "confirm": {"short"}})
		res.expect(t, 422, "Some fields need your attention")
		if res.value("first_name") != "Zoé <b>" || res.value("password") != "" || res.value("confirm") != "" {
			t.Fatalf("values: %q %q", res.value("first_name"), res.value("password"))
		}
		if strings.Contains(res.body, "short") || strings.Contains(res.body, "<b>") {
			t.Fatal("the password or unescaped input is in the page")
		}
		if res.fieldError("last_name") != "Required." || res.fieldError("password") != "Must be 10 to 1024 characters." {
			t.Fatalf("errors %q %q", res.fieldError("last_name"), res.fieldError("password"))
		}
		res = b.submit(res, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"Zoé"}, "last_name": {"Typo"},
			"password": {"a-good-password-1"}, "confirm": {"a-good-password-2"}})
		res.expect(t, 422)
		if res.fieldError("confirm") != "The two passwords differ." || res.value("last_name") != "Typo" {
			t.Fatalf("confirm error %q", res.fieldError("confirm"))
		}
	})
	t.Run("accepting signs in with a strict session cookie, and ends another account's session", func(t *testing.T) {
		owner := e.LoginOwner(t)
		b := newBrowser(t, e)
		b.cookies["__Host-guichet_session"] = owner.AccessToken
		link := invite(t, e, "new@acme.example")
		p := b.get(link)
		p.expect(t, 200, "You are signed in as owner@acme.example")
		res := b.submit(p, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"Nina"}, "last_name": {"New"},
			"password": {"a-good-password-1"}, "confirm": {"a-good-password-1"}})
		res.expect(t, 200, "You are signed in as Nina New (new@acme.example)", `href="http://guichet.test"`)
		var session *http.Cookie
		for _, c := range (&http.Response{Header: res.header}).Cookies() {
			if c.Name == "__Host-guichet_session" && c.Value != "" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.MaxAge != int(e.Config.AccessTTL/time.Second) {
			t.Fatalf("session cookie %+v", session)
		}
		if r := e.Do("GET", "/v1/me", session.Value, nil); r.Status != 200 || !strings.Contains(string(r.Body), "new@acme.example") {
			t.Fatalf("the cookie's token: %d %s", r.Status, r.Body)
		}
		if r := e.Do("GET", "/v1/me", owner.AccessToken, nil); r.Status != 401 {
			t.Fatalf("the other account's session still works: %d", r.Status)
		}
		t.Run("and the link then says it was used", func(t *testing.T) {
			newBrowser(t, e).get(link).expect(t, 410, "This link was already used", `href="/login?lang=en"`)
		})
	})
	t.Run("an unknown link is a clear 400 page", func(t *testing.T) {
		for _, target := range []string{"/invite", "/invite?token=giv_nope", "/invite?token=giv_" + strings.Repeat("A", 43)} {
			newBrowser(t, e).get(target).expect(t, 400, "This link does not work")
		}
	})
	t.Run("an expired link is a clear 410 page", func(t *testing.T) {
		link := invite(t, e, "late@acme.example")
		e.Clock.Advance(8 * 24 * time.Hour)
		b := newBrowser(t, e)
		b.header["Accept-Language"] = "fr"
		b.get(link).expect(t, 410, "Ce lien a expiré", "Demandez à la personne qui vous a invité·e")
	})
}

func TestResetPages(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.Org.Owner.Email
	ask := func(t *testing.T) string {
		t.Helper()
		b := newBrowser(t, e)
		b.submit(b.get("/forgot"), "/forgot", url.Values{"email": {owner}}).expect(t, 200, "Check your e-mail")
		return lastLink(t, e, owner)
	}
	t.Run("a reset link sets a new password, then works no more", func(t *testing.T) {
		link := ask(t)
		b := newBrowser(t, e)
		p := b.get(link)
		p.expect(t, 200, "Choose a new password")
		res := b.submit(p, "/reset", url.Values{"token": {p.hidden(t, "token")}, "password": {"new-owner-pass-1"}, "confirm": {"new-owner-pass-2"}})
		res.expect(t, 422)
		if res.fieldError("confirm") == "" {
			t.Fatal("no error on confirm")
		}
		res = b.submit(res, "/reset", url.Values{"token": {p.hidden(t, "token")}, "password": {"password"}, "confirm": {"password"}})
		res.expect(t, 422)
		if res.fieldError("password") == "" || res.value("password") != "" {
			t.Fatalf("password error %q", res.fieldError("password"))
		}
		res = b.submit(res, "/reset", url.Values{"token": {p.hidden(t, "token")}, "password": {"new-owner-pass-1"}, "confirm": {"new-owner-pass-1"}})
		res.expect(t, 200, "Your password was changed", `href="/login?lang=en"`)
		e.Login(t, owner, "new-owner-pass-1")
		newBrowser(t, e).get(link).expect(t, 410, "This link was already used", `href="/forgot?lang=en"`)
	})
	t.Run("an unknown link is a clear 400 page", func(t *testing.T) {
		newBrowser(t, e).get("/reset?token=grs_"+strings.Repeat("B", 43)).expect(t, 400, "This link does not work")
	})
	t.Run("an expired link is a clear 410 page, in Dutch when asked", func(t *testing.T) {
		link := ask(t)
		e.Clock.Advance(2 * time.Hour)
		newBrowser(t, e).get(link+"&lang=nl").expect(t, 410, "Deze link is verlopen", `href="/forgot?lang=nl"`)
	})
}

func TestForgotAnswersTheSameForEveryAddress(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ask := func(email string) *page {
		b := newBrowser(t, e)
		return b.submit(b.get("/forgot"), "/forgot", url.Values{"email": {email}})
	}
	known, unknown := ask(e.Org.Owner.Email), ask("nobody@acme.example")
	known.expect(t, 200, "If this address has an account")
	if unknown.status != known.status || unknown.body != known.body {
		t.Fatalf("the answers differ:\n%d %s\n%d %s", known.status, known.body, unknown.status, unknown.body)
	}
	if e.MailsTo(e.Org.Owner.Email) != 1 || e.MailsTo("nobody@acme.example") != 0 {
		t.Fatal("mail")
	}
	t.Run("a malformed address is shown back with its error", func(t *testing.T) {
		p := ask("owner at acme")
		p.expect(t, 422)
		if p.value("email") != "owner at acme" || p.fieldError("email") == "" {
			t.Fatalf("value %q error %q", p.value("email"), p.fieldError("email"))
		}
	})
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	t.Run("signing in sets the session cookie", func(t *testing.T) {
		b := newBrowser(t, e)
		res := b.submit(b.get("/login"), "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword}})
		res.expect(t, 200, "You are signed in as")
		if r := e.Do("GET", "/v1/me", b.cookies["__Host-guichet_session"], nil); r.Status != 200 {
			t.Fatalf("cookie token: %d", r.Status)
		}
	})
	t.Run("an unknown login and a wrong password get the same page", func(t *testing.T) {
		try := func(login string) *page {
			b := newBrowser(t, e)
			return b.submit(b.get("/login"), "/login", url.Values{"login": {login}, "password": {"wrong-password-1"}})
		}
		wrong, unknown := try(e.Org.Owner.Email), try("nobody@acme.example")
		wrong.expect(t, 401, "The login or the password is wrong.")
		strip := regexp.MustCompile(`name="csrf" value="[^"]*"`)
		if unknown.status != wrong.status || strip.ReplaceAllString(unknown.body, "") != strings.Replace(strip.ReplaceAllString(wrong.body, ""), e.Org.Owner.Email, "nobody@acme.example", 1) {
			t.Fatalf("the answers differ:\n%s\n%s", wrong.body, unknown.body)
		}
		if wrong.value("login") != e.Org.Owner.Email || wrong.value("password") != "" {
			t.Fatal("the login is not kept, or the password is")
		}
	})
	t.Run("a locked login says to try again later", func(t *testing.T) {
		e.AddUser(t, "locked@acme.example", "member")
		b := newBrowser(t, e)
		var res *page
		p := b.get("/login")
		for range 6 {
			res = b.submit(p, "/login", url.Values{"login": {"locked@acme.example"}, "password": {"wrong-password-1"}})
		}
		res.expect(t, 429, "Try again later")
		if res.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	})
	t.Run("a username user changes the PIN in a step, then is signed in", func(t *testing.T) {
		owner := e.LoginOwner(t)
		r := e.Do("POST", "/v1/users", owner.AccessToken, map[string]any{"username": "jdoe", "password": "481937",
			"first_name": "Jo", "last_name": "Doe", "role": "member"})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		b := newBrowser(t, e)
		b.header["Accept-Language"] = "fr"
		step := b.submit(b.get("/login"), "/login", url.Values{"login": {"jdoe"}, "organization": {"acme"}, "password": {"481937"}})
		step.expect(t, 200, "Vous devez choisir un nouveau mot de passe", `name="step" value="password_change"`)
		res := b.submit(step, "/login/step", url.Values{"step": {"password_change"}, "step_token": {step.hidden(t, "step_token")},
			"new_password": {"481937"}, "confirm": {"481937"}})
		res.expect(t, 422, "Doit être différent de votre mot de passe actuel.")
		res = b.submit(res, "/login/step", url.Values{"step": {"password_change"}, "step_token": {step.hidden(t, "step_token")},
			"new_password": {"592846"}, "confirm": {"592840"}})
		res.expect(t, 422, "Les deux mots de passe diffèrent.")
		res = b.submit(res, "/login/step", url.Values{"step": {"password_change"}, "step_token": {step.hidden(t, "step_token")},
			"new_password": {"592846"}, "confirm": {"592846"}})
		res.expect(t, 200, "Vous êtes connecté·e en tant que Jo Doe (jdoe)")
		t.Run("and the step cannot be answered twice", func(t *testing.T) {
			again := b.submit(step, "/login/step", url.Values{"step": {"password_change"}, "step_token": {step.hidden(t, "step_token")},
				"new_password": {"777777"}, "confirm": {"777777"}})
			again.expect(t, 401, "Cette connexion a expiré")
		})
	})
}

func TestFormsRefuseForgedPosts(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	b := newBrowser(t, e)
	forgot, login := b.get("/forgot"), b.get("/login")
	good := func() url.Values { return url.Values{"email": {e.Org.Owner.Email}, "csrf": {forgot.hidden(t, "csrf")}} }
	cases := []struct {
		name    string
		prepare func(b *browser) url.Values
	}{
		{"a post without the CSRF field", func(b *browser) url.Values { f := good(); f.Del("csrf"); return f }},
		{"a post without the CSRF cookie", func(b *browser) url.Values { clear(b.cookies); return good() }},
		{"a post with another form's token", func(b *browser) url.Values {
			f := good()
			f.Set("csrf", login.hidden(t, "csrf"))
			return f
		}},
		{"a post with a tampered token", func(b *browser) url.Values { f := good(); f.Set("csrf", f.Get("csrf")[1:]+"A"); return f }},
		{"a cross-site post even with a good token", func(b *browser) url.Values { b.header["Sec-Fetch-Site"] = "cross-site"; return good() }},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused and sends no mail", func(t *testing.T) {
			b2 := &browser{t: t, e: e, cookies: maps(b.cookies), header: map[string]string{}}
			f := c.prepare(b2)
			before := e.MailsTo(e.Org.Owner.Email)
			b2.do("POST", "/forgot", "application/x-www-form-urlencoded", f.Encode()).expect(t, 403, "did not come from this site")
			if e.MailsTo(e.Org.Owner.Email) != before {
				t.Fatal("a mail was sent")
			}
		})
	}
	t.Run("the refused form can be sent again as it is", func(t *testing.T) {
		b2 := &browser{t: t, e: e, cookies: map[string]string{}, header: map[string]string{}}
		p := b2.do("POST", "/forgot", "application/x-www-form-urlencoded", good().Encode())
		p.expect(t, 403)
		b2.submit(p, "/forgot", url.Values{"email": {p.value("email")}}).expect(t, 200, "Check your e-mail")
	})
	t.Run("a form body over the limit is refused", func(t *testing.T) {
		f := good()
		f.Set("email", strings.Repeat("a", pages.MaxForm))
		b.do("POST", "/forgot", "application/x-www-form-urlencoded", f.Encode()).expect(t, 413)
	})
	t.Run("a JSON body is refused", func(t *testing.T) {
		b.do("POST", "/forgot", "application/json", `{"email":"x@acme.example"}`).expect(t, 415)
	})
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestCookiesArePlainOnLocalhost(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.PublicURL = "http://127.0.0.1:8080" })
	b := newBrowser(t, e)
	b.get("/login")
	if _, ok := b.cookies["guichet_csrf"]; !ok || len(b.cookies) != 1 {
		t.Fatalf("cookies %v", b.cookies)
	}
	res := b.submit(b.get("/login"), "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword}})
	res.expect(t, 200)
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Secure || strings.HasPrefix(c.Name, "__Host-") {
			t.Fatalf("cookie %+v", c)
		}
	}
}

// TestThePagesCallOnlyTheActionsOfTheirSpec runs every page's paths and
// checks that the pages function called DynamoDB only with the actions its
// spec grants (as the gateway's test does for the API's functions).
func TestThePagesCallOnlyTheActionsOfTheirSpec(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.ResetCounters()
	link := invite(t, e, "spec@acme.example")
	b := newBrowser(t, e)
	b.cookies["__Host-guichet_session"] = e.LoginOwner(t).AccessToken
	p := b.get(link)
	b.submit(p, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"S"}, "last_name": {"P"},
		"password": {"a-good-password-1"}, "confirm": {"a-good-password-1"}}).expect(t, 200)
	b.get(link).expect(t, 410)
	for _, email := range []string{"spec@acme.example", "nobody@acme.example"} {
		b.submit(b.get("/forgot"), "/forgot", url.Values{"email": {email}}).expect(t, 200)
	}
	reset := lastLink(t, e, "spec@acme.example")
	p = b.get(reset)
	b.submit(p, "/reset", url.Values{"token": {p.hidden(t, "token")}, "password": {"another-password-1"}, "confirm": {"another-password-1"}}).expect(t, 200)
	b.submit(b.get("/login"), "/login", url.Values{"login": {"spec@acme.example"}, "password": {"wrong-password-1"}}).expect(t, 401)
	b.submit(b.get("/login"), "/login", url.Values{"login": {"spec@acme.example"}, "password": {"another-password-1"}}).expect(t, 200)
	owner := e.LoginOwner(t)
	e.Do("POST", "/v1/users", owner.AccessToken, map[string]any{"username": "spec", "password": "481937",
		"first_name": "S", "last_name": "P", "role": "member"})
	step := b.submit(b.get("/login"), "/login", url.Values{"login": {"spec"}, "organization": {"acme"}, "password": {"481937"}})
	b.submit(step, "/login/step", url.Values{"step": {"password_change"}, "step_token": {step.hidden(t, "step_token")},
		"new_password": {"246810"}, "confirm": {"246810"}}).expect(t, 200)

	var spec route.Spec
	for _, s := range route.Specs() {
		if s.Name == route.Pages {
			spec = s
		}
	}
	used := e.Counters[route.Pages].Operations()
	for _, op := range used {
		if !slices.Contains(spec.DynamoDB, op) {
			t.Errorf("the pages called %s, outside their spec %v", op, spec.DynamoDB)
		}
	}
	for _, op := range spec.DynamoDB {
		if !slices.Contains(used, op) {
			t.Errorf("the spec grants %s, which the pages never called (%v)", op, used)
		}
	}
	if !spec.SendsMail {
		t.Error("the pages send mail (forgot password) but their spec says not")
	}
}

func TestEmailConfirmPage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t).AccessToken
	if r := e.Do("POST", "/v1/me/email", tok, map[string]string{"new_email": "new-owner@acme.example", "password": apitest.OwnerPassword}); r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	link := lastLink(t, e, "new-owner@acme.example")
	if !strings.Contains(link, "/email/confirm?token=gem_") {
		t.Fatalf("link %s", link)
	}
	b := newBrowser(t, e)
	p := b.get(link)
	t.Run("opening the link changes nothing", func(t *testing.T) {
		p.expect(t, 200, "Confirm your new e-mail address")
		e.Login(t, "owner@acme.example", apitest.OwnerPassword)
	})
	t.Run("the button switches the login", func(t *testing.T) {
		b.submit(p, "/email/confirm", url.Values{"token": {p.hidden(t, "token")}}).expect(t, 200, "Your login is now new-owner@acme.example")
		e.Login(t, "new-owner@acme.example", apitest.OwnerPassword)
	})
	t.Run("a used link says so", func(t *testing.T) {
		b.submit(b.get(link), "/email/confirm", url.Values{"token": {p.hidden(t, "token")}}).expect(t, 410)
	})
	t.Run("a forged post is refused", func(t *testing.T) {
		newBrowser(t, e).do("POST", "/email/confirm", "application/x-www-form-urlencoded", "token=x").expect(t, 403)
	})
}
