// Package pages serves the hosted HTML pages people reach from an e-mail
// or a bookmark: accept an invitation, reset a forgotten password, ask for
// a reset link, sign in (with the steps a login may ask for). They are
// server-rendered with html/template, in English, French and Dutch, with
// no script at all, and call the same services as the JSON API.
//
// Every answer is an HTML page, errors included (an expired link is a 410
// page, not a problem+json), with strict security headers (see secure).
package pages

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/oidc"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/passwordreset"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/profile"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

//go:embed templates/*.html assets/guichet.css
var files embed.FS

// MaxForm is the largest form body accepted, in bytes.
const MaxForm = 16 << 10

// ContentSecurityPolicy allows no script at all, styles and images from
// the pages' own host only, forms posting back to it, and no framing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config is what the pages need to know of the deployment.
type Config struct {
	// PublicURL is where the pages are served; an https URL (or any host
	// but the loopback) makes their cookies Secure and __Host- prefixed.
	PublicURL string
	// AppURL is where "continue" leads once signed in; PublicURL when empty.
	AppURL string
	// Clients are the OpenID Connect clients: a page's return_to must be
	// one of theirs.
	Clients registry.Registry
	// Permissions describe what a client asks for on the consent page.
	Permissions permission.Catalog
}

// Deps are the services the pages call.
type Deps struct {
	Invitations *invitations.Service
	Resets      *passwordreset.Service
	Sessions    *session.Service
	// Profile confirms e-mail changes.
	Profile *profile.Service
	// Authorizer resolves a session cookie as the API resolves a bearer
	// token; Store then reads its user's name.
	Authorizer *authorizer.Authorizer
	Store      *store.Store
	// OIDC completes the authorization requests the hosted login serves.
	OIDC *oidc.Provider
	Log  *slog.Logger
	Now  func() time.Time
}

// Service serves the pages.
type Service struct {
	Deps
	cfg    Config
	secure bool
	sso    session.BrowserCookie
	pages  map[string]func() *template.Template // each parsed when first shown: none at init
	steps  map[string]step
}

// New returns the pages' service. The templates are embedded and checked
// by the tests, so failing to parse one is a build defect: showing it
// panics.
func New(cfg Config, d Deps) *Service {
	if cfg.AppURL == "" {
		cfg.AppURL = cfg.PublicURL
	}
	s := &Service{Deps: d, cfg: cfg, secure: session.SecureOrigin(cfg.PublicURL),
		sso: session.NewBrowserCookie(cfg.PublicURL), pages: map[string]func() *template.Template{}}
	for _, name := range []string{"invite", "reset", "forgot", "login", "step", "message", "email", "consent"} {
		s.pages[name] = sync.OnceValue(func() *template.Template {
			return template.Must(template.ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
		})
	}
	s.steps = s.loginSteps()
	return s
}

// Operations returns the handlers of the pages' routes: HTML for people,
// which the API description leaves out, so they keep the handler shape of
// this package (pageFunc). It reads nothing of s, which may be nil.
func (s *Service) Operations() router.Operations {
	html := []string{"text/html"}
	op := func(h pageFunc) router.Op { return router.Op{Handle: s.page(h), ContentTypes: html} }
	token := []router.Param{{Name: "token", Description: "The token of the link.", Required: true}}
	return router.Operations{
		route.OpInvitePage:        {Handle: s.page(s.invitePage), ContentTypes: html, Query: token},
		route.OpAcceptInvitePage:  op(s.acceptInvite),
		route.OpResetPage:         {Handle: s.page(s.resetPage), ContentTypes: html, Query: token},
		route.OpCompleteResetPage: op(s.completeReset),
		route.OpForgotPage:        op(s.forgotPage),
		route.OpRequestResetPage:  op(s.requestReset),
		route.OpLoginPage:         op(s.loginPage),
		route.OpLoginSubmitPage:   op(s.login),
		route.OpLoginStepPage:     op(s.loginStep),
		route.OpLoginConsentPage:  op(s.loginConsent),
		route.OpEmailConfirmPage:  {Handle: s.page(s.emailConfirmPage), ContentTypes: html, Query: token},
		route.OpConfirmEmailPage:  op(s.confirmEmail),
		route.OpPagesStylesheet:   {Handle: stylesheet, ContentTypes: []string{"text/css"}},
	}
}

// pageFunc serves one page. A returned error is shown as an error page
// (see fail); a handler that returns one must not have written anything.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// page adapts h: security headers on every answer, a form body read
// within MaxForm, the language chosen, and errors shown as pages.
func (s *Service) page(h pageFunc) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s.headers(w.Header())
		if r.Method == http.MethodPost {
			if status, ok := readForm(w, r); !ok {
				v := s.newView(r)
				s.message(w, v, status, "error.bad_form.title", v.T("error.bad_form.text"), nil)
				return nil
			}
		}
		v := s.newView(r)
		v.Onward = s.onwardOf(r)
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
		return nil
	}
}

// readForm parses a urlencoded form body of at most MaxForm bytes, each
// field at most once, into r.PostForm, or returns the status to refuse it
// with.
func readForm(w http.ResponseWriter, r *http.Request) (int, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return http.StatusUnsupportedMediaType, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, false
		}
		return http.StatusBadRequest, false
	}
	for _, vs := range r.PostForm {
		if len(vs) > 1 { // a field sent twice: which one counts would depend on the parser
			return http.StatusBadRequest, false
		}
	}
	return 0, true
}

// headers sets the security headers of every answer.
func (s *Service) headers(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer") // links carry tokens
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
}

func stylesheet(w http.ResponseWriter, r *http.Request) error {
	css, err := files.ReadFile("assets/guichet.css")
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Type", "text/css; charset=utf-8")
	w.Write(css)
	return nil
}

// view is what a page template shows.
type view struct {
	Lang  string
	Title string
	// Langs links a form page in every language.
	Langs []langLink
	// CSRF is the hidden field of the page's form.
	CSRF string
	// Alert is a message about the whole form; Notice an informative one.
	Alert, Notice string
	// Token is the link's token (invitation, reset), kept in the form.
	Token  string
	Invite invitations.Preview
	// AcceptAs is who the browser's session is, when it is the invited
	// person's: the invitation page then joins with one button.
	AcceptAs string
	// Step is a sign-in step's name, token and fields.
	Step      string
	StepToken string
	Fields    []field
	// Choices are the organizations an organization step offers, one
	// button each; without them the step asks for a code.
	Choices []session.Choice
	// Text and Link are a message page's.
	Text string
	Link *link
	// Onward is where the page leads once done (hidden fields of its form).
	Onward onward
	// Consent is what the consent page asks.
	Consent *consent
	// Refresh is where a page sends the browser on at once (meta refresh):
	// a client's registered redirect (see link).
	Refresh template.URL

	values url.Values        // what was typed, passwords never
	errors map[string]string // field name to message
	self   url.Values        // the query of this page's GET, for Langs
	path   string
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

// link is a link of a message page. Href is typed template.URL: every
// one is the pages' own, APP_URL, or a registered URI of a client, which
// registry.Parse allows only with https, loopback http or a native app's
// private-use scheme (which html/template would otherwise blank).
type link struct {
	Href  template.URL
	Label string
}

// field is one input of a form.
type field struct {
	Name, Label, Type, Autocomplete, Value, Error, Hint string
	Required                                            bool
}

func (s *Service) newView(r *http.Request) *view {
	return &view{Lang: pageLanguage(r), values: r.PostForm, errors: map[string]string{}, path: r.URL.Path, self: url.Values{}}
}

// T translates key into the page's language.
func (v *view) T(key string, args ...any) string { return translate(v.Lang, key, args...) }

// Field describes the input name of the page's form. Passwords are never
// filled back in.
func (v *view) Field(name, typ, autocomplete string) field {
	f := field{Name: name, Label: v.T("field." + name), Type: typ, Autocomplete: autocomplete,
		Error: v.errors[name], Required: true}
	if typ != "password" {
		f.Value = v.values.Get(name)
	}
	return f
}

// Optional is Field for an optional input with a hint.
func (v *view) Optional(name, typ, autocomplete, hint string) field {
	f := v.Field(name, typ, autocomplete)
	f.Required, f.Hint = false, v.T(hint)
	return f
}

// Hint is Field with a hint.
func (v *view) Hint(f field, hint string) field {
	f.Hint = v.T(hint)
	return f
}

// Href is a link to path in the page's language.
func (v *view) Href(path string) string { return path + "?lang=" + v.Lang }

// signInLink is the way to the sign-in page, in the view's language.
func (v *view) signInLink() *link {
	return &link{Href: template.URL(v.Href("/login")), Label: v.T("link.sign_in")}
}

// invalid records the field errors of a validation problem.
func (v *view) invalid(p *problem.Problem) {
	for _, e := range p.Errors {
		if _, seen := v.errors[e.Field]; !seen {
			v.errors[e.Field] = fieldMessage(v.Lang, e.Message)
		}
	}
	v.Alert = v.T("err.form")
}

// render writes page name with status.
func (s *Service) render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[name]().ExecuteTemplate(&buf, "layout", v); err != nil {
		s.Log.Error("pages: render", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message renders a page of a title, a text and an optional link.
func (s *Service) message(w http.ResponseWriter, v *view, status int, title, text string, l *link) {
	v.Title, v.Text, v.Link = v.T(title), text, l
	s.render(w, status, "message", v)
}

// form renders a form page, with a CSRF field bound to action.
func (s *Service) form(w http.ResponseWriter, r *http.Request, v *view, status int, name, title, action string) error {
	secret, err := s.csrfSecret(w, r)
	if err != nil {
		return err
	}
	v.Title, v.CSRF = v.T(title), csrfToken(secret, action)
	base := v.path
	if base == "/login/step" {
		base = "/login" // a step is not a page to load again
	}
	for _, l := range language.Supported() {
		q := url.Values{}
		for k, vs := range v.self {
			q[k] = vs
		}
		q.Set("lang", l)
		v.Onward.set(q)
		v.Langs = append(v.Langs, langLink{Code: l, Name: translate(l, "lang.name"), Href: base + "?" + q.Encode(), Current: l == v.Lang})
	}
	s.render(w, status, name, v)
	return nil
}

// fail shows err as an error page: the problems of links, steps and rate
// limits get their own words; anything unexpected is logged and shown as
// a plain 500 page that tells nothing of the cause.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	p, ok := problem.As(err)
	if !ok {
		if mapped, isStore := httpapi.StoreProblem(err); isStore {
			p, ok = mapped, true
			s.Log.WarnContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		}
	}
	if !ok {
		s.Log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		s.message(w, v, http.StatusInternalServerError, "error.internal.title", v.T("error.internal.text"), nil)
		return
	}
	flow := strings.TrimPrefix(r.URL.Path, "/") // invite or reset for links
	forgot := &link{Href: template.URL(v.Href("/forgot")), Label: v.T("link.forgot")}
	signIn := v.signInLink()
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	switch p.Code {
	case "invalid_link":
		l := forgot
		if flow == "invite" {
			l = nil
		}
		s.message(w, v, p.Status, "error.invalid_link.title", v.T("error.invalid_link.text"), l)
	case "link_expired":
		if flow == "invite" {
			s.message(w, v, p.Status, "error.link_expired.title", v.T("error.link_expired.invite"), nil)
			return
		}
		s.message(w, v, p.Status, "error.link_expired.title", v.T("error.link_expired.reset"), forgot)
	case "link_used":
		if flow == "invite" {
			s.message(w, v, p.Status, "error.link_used.title", v.T("error.link_used.invite"), signIn)
			return
		}
		s.message(w, v, p.Status, "error.link_used.title", v.T("error.link_used.reset"), forgot)
	case "invalid_token":
		s.message(w, v, p.Status, "error.step_expired.title", v.T("error.step_expired.text"),
			&link{Href: template.URL(v.Href("/login")), Label: v.T("link.login_again")})
	case "user_exists":
		s.message(w, v, p.Status, "error.conflict.title", v.T("error.user_exists"), signIn)
	case "role_gone", "unit_gone":
		s.message(w, v, p.Status, "error.conflict.title", v.T("error.gone"), nil)
	case "too_many_requests", "login_locked":
		s.message(w, v, p.Status, "error.too_many.title", v.T("err.too_many"), nil)
	case "unavailable":
		s.message(w, v, p.Status, "error.unavailable.title", v.T("error.unavailable.text"), nil)
	default:
		s.Log.WarnContext(r.Context(), "page failed", "path", r.URL.Path, "status", p.Status, "code", p.Code)
		status := p.Status
		if status < 400 {
			status = http.StatusInternalServerError
		}
		s.message(w, v, status, "error.internal.title", v.T("error.internal.text"), nil)
	}
}

// account is who a session is.
type account struct {
	session string
	name    string
}

// whoIs returns the live session an access token names and who it is.
func (s *Service) whoIs(ctx context.Context, access string) (account, bool, error) {
	p, ok, err := s.Authorizer.Principal(ctx, access, token.Access)
	if err != nil || !ok {
		return account{}, false, err
	}
	u, err := s.Store.GetUser(ctx, p.Org, p.User)
	if errors.Is(err, store.ErrNotFound) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, err
	}
	return account{session: p.CredentialID, name: displayName(u)}, true, nil
}

// displayName is how the pages name u: "First Last (login)", or its login.
func displayName(u store.User) string {
	login := u.Email
	if login == "" {
		login = u.Username
	}
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		return login
	}
	return fmt.Sprintf("%s (%s)", name, login)
}

// endCookieSession ends the browser's session on the pages (of its single
// sign-on cookie, and of its session cookie), if any, and clears both
// cookies: one browser, one account on these pages.
func (s *Service) endCookieSession(w http.ResponseWriter, r *http.Request) error {
	if rt := s.sso.Read(r); rt != "" {
		if err := s.Sessions.EndBrowser(r.Context(), rt); err != nil {
			return err
		}
		s.sso.Clear(w)
	}
	access := s.cookie(r, sessionCookie)
	if access == "" {
		return nil
	}
	a, ok, err := s.whoIs(r.Context(), access)
	if err != nil {
		return err
	}
	if ok && a.session != "" {
		if err := s.Sessions.Logout(r.Context(), a.session); err != nil {
			return err
		}
	}
	s.setCookie(w, sessionCookie, "", -1)
	return nil
}

// signedIn sets the cookies of the browser's new session of tokens (its
// access token for the pages, its refresh token for single sign-on) and
// leads on: back to the application whose authorization request this
// sign-in answers, or to the one that started the page (return_to), or
// to APP_URL, saying who is signed in.
func (s *Service) signedIn(w http.ResponseWriter, r *http.Request, v *view, t session.Tokens) error {
	b, ok, err := s.Sessions.Browser(r.Context(), t.RefreshToken)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("pages: the new session is not a live browser session")
	}
	s.setCookie(w, sessionCookie, t.AccessToken, t.ExpiresIn)
	s.sso.Set(w, t.RefreshToken, 0)
	if v.Onward.AuthRequest != "" {
		return s.complete(w, r, v, b, false)
	}
	s.message(w, v, http.StatusOK, "signed_in.title", v.T("signed_in.text", displayName(b.User)),
		v.onwardLink(&link{Href: template.URL(s.cfg.AppURL), Label: v.T("signed_in.continue")}))
	return nil
}

// client is where a request comes from: a browser, whose session is the
// browser's single sign-on session (session.BrowserClient).
func client(r *http.Request) session.Client {
	return session.Client{IP: r.RemoteAddr, UserAgent: r.UserAgent(), Browser: true}
}
