package pages

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/oidc"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/session"
)

// onward is where a page leads once its work is done: an OpenID Connect
// authorization request to complete (the hosted login of an
// application), or an application's return_to (an invitation, a reset,
// an address confirmation an application started). It travels in the
// query of a GET and in hidden fields of the form.
type onward struct {
	// AuthRequest is the authorization request id (oar_…); the provider
	// checks it when it is used.
	AuthRequest string
	// Client and ReturnTo are a client's id and one of its registered
	// redirect or post-logout URIs (registry.Registry.ReturnTo); ClientName
	// its name. A return_to that is not one of the client's is dropped:
	// the page then leads to APP_URL, as without one (no open redirect).
	Client, ClientName, ReturnTo string
}

// onwardOf reads the request's onward parameters.
func (s *Service) onwardOf(r *http.Request) onward {
	src := r.URL.Query()
	if r.Method == http.MethodPost {
		src = r.PostForm
	}
	var o onward
	if id := src.Get("auth_request"); id != "" && len(id) <= 64 {
		o.AuthRequest = id
	}
	if b, msg := s.cfg.Clients.Back(src.Get("client_id"), src.Get("return_to")); msg == "" && b.URI != "" {
		c, _ := s.cfg.Clients.Find(b.Client)
		o.Client, o.ClientName, o.ReturnTo = c.ID, c.Name, b.URI
	}
	return o
}

// set adds the onward parameters to q (the query of the page's language
// links).
func (o onward) set(q url.Values) {
	if o.AuthRequest != "" {
		q.Set("auth_request", o.AuthRequest)
	}
	registry.Back{Client: o.Client, URI: o.ReturnTo}.Set(q)
}

// signedOf is who the browser session b is, for the provider.
func signedOf(b session.Browser) oidc.Signed {
	return oidc.Signed{Org: b.Org.ID, User: b.User.ID, Person: b.User.Person, Session: b.Session,
		AuthTime: b.AuthTime, AMR: b.AMR}
}

// authorize is the hosted login's answer to an authorization request
// (GET /login?auth_request=): with the browser's live session, and
// unless the request asks for a new sign-in (prompt=login, a max_age the
// session's sign-in is older than), the request completes at once and
// the browser goes back to the client with a code, without a password
// (single sign-on); with prompt=none and no such session, it goes back
// with login_required. Otherwise (false) the login form is shown, saying
// which application asks.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request, v *view) (bool, error) {
	ctx := r.Context()
	ar, err := s.OIDC.AuthRequest(ctx, v.Onward.AuthRequest)
	if errors.Is(err, oidc.ErrUnknownRequest) {
		s.message(w, v, http.StatusGone, "error.auth_request.title", v.T("error.auth_request.text"), nil)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	prompt := strings.Fields(ar.Prompt)
	if !slices.Contains(prompt, oidc.PromptLogin) {
		b, ok, err := s.browser(ctx, r)
		if err != nil {
			return false, err
		}
		if ok && (ar.MaxAge == 0 || s.Now().Sub(b.AuthTime) <= time.Duration(ar.MaxAge)*time.Second) {
			switch {
			case ar.FirstParty:
				return true, s.complete(w, r, v, b, true)
			case slices.Contains(prompt, oidc.PromptNone):
				// A consent cannot be asked without showing a page.
				return true, s.refuse(w, r, v, "consent_required", "The person's consent is asked on a page.")
			}
			return true, s.showConsent(w, r, v, ar, b)
		}
	}
	if slices.Contains(prompt, oidc.PromptNone) {
		return true, s.refuse(w, r, v, "login_required", "The browser has no session with Guichet.")
	}
	if r.URL.Query().Get("lang") == "" {
		if l, ok := uiLocale(ar.UILocales); ok {
			v.Lang = l
		}
	}
	v.Notice = v.T("login.for_client", ar.ClientName)
	if ar.LoginHint != "" && len(v.values) == 0 {
		v.values = url.Values{"login": {ar.LoginHint}}
	}
	return false, nil
}

// uiLocale is the first supported language of ui_locales (BCP 47 tags
// separated by spaces, by preference).
func uiLocale(locales string) (string, bool) {
	for _, tag := range strings.Fields(locales) {
		l, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if language.Valid(l) {
			return l, true
		}
	}
	return "", false
}

// browser returns the browser's live single sign-on session, if any.
func (s *Service) browser(ctx context.Context, r *http.Request) (session.Browser, bool, error) {
	rt := s.sso.Read(r)
	if rt == "" {
		return session.Browser{}, false, nil
	}
	return s.Sessions.Browser(ctx, rt)
}

// complete completes the page's authorization request with the browser
// session b: for a client that is not the deployment's own, once the
// person consented (the consent page, unless consented says the consent
// is settled: given, or known not to be needed). A
// GET goes straight back to the client; after a form, the browser is sent
// on by a page (a redirect there would be a navigation of the form, which
// the pages' form-action 'self' refuses to leave the site), with the link
// to follow by hand.
func (s *Service) complete(w http.ResponseWriter, r *http.Request, v *view, b session.Browser, consented bool) error {
	if !consented {
		ar, err := s.OIDC.AuthRequest(r.Context(), v.Onward.AuthRequest)
		if errors.Is(err, oidc.ErrUnknownRequest) {
			s.message(w, v, http.StatusGone, "error.auth_request.title", v.T("error.auth_request.text"), nil)
			return nil
		}
		if err != nil {
			return err
		}
		if !ar.FirstParty {
			return s.showConsent(w, r, v, ar, b)
		}
	}
	to, err := s.OIDC.Complete(r.Context(), v.Onward.AuthRequest, signedOf(b))
	if errors.Is(err, oidc.ErrUnknownRequest) {
		s.message(w, v, http.StatusGone, "error.auth_request.title", v.T("error.auth_request.text"), nil)
		return nil
	}
	if err != nil {
		return err
	}
	return s.sendBack(w, r, v, to, v.T("signed_in.title"), v.T("signed_in.text", displayName(b.User)))
}

// sendBack sends the browser to the client's redirect to: at once after
// a GET, by a page after a form (see complete).
func (s *Service) sendBack(w http.ResponseWriter, r *http.Request, v *view, to, title, text string) error {
	if r.Method == http.MethodGet {
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	v.Refresh, v.Title, v.Text = template.URL(to), title, text
	v.Link = &link{Href: template.URL(to), Label: v.T("signed_in.continue")}
	s.render(w, http.StatusOK, "message", v)
	return nil
}

// refuse ends the page's authorization request with error code and sends
// the browser back to the client with it.
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, v *view, code, description string) error {
	to, err := s.OIDC.Refuse(r.Context(), v.Onward.AuthRequest, code, description)
	if errors.Is(err, oidc.ErrUnknownRequest) {
		s.message(w, v, http.StatusGone, "error.auth_request.title", v.T("error.auth_request.text"), nil)
		return nil
	}
	if err != nil {
		return err
	}
	return s.sendBack(w, r, v, to, v.T("consent.denied.title"), v.T("consent.denied.text"))
}

// showConsent asks the person of b whether client of ar may have what it
// asks: the permissions among its scopes (its tokens carry no other), and
// the e-mail address or names with those scopes.
func (s *Service) showConsent(w http.ResponseWriter, r *http.Request, v *view, ar oidc.Request, b session.Browser) error {
	v.Consent = &consent{Client: ar.ClientName, Who: displayName(b.User)}
	for _, sc := range ar.Scopes {
		switch sc {
		case registry.ScopeEmail, registry.ScopeProfile, registry.ScopeOfflineAccess:
			v.Consent.Items = append(v.Consent.Items, v.T("consent.scope."+sc))
		case registry.ScopeOpenID:
		default:
			v.Consent.Items = append(v.Consent.Items, s.describe(sc, v.Lang))
		}
	}
	return s.form(w, r, v, http.StatusOK, "consent", "consent.title", "/login/consent")
}

// describe is permission p's description in lang, or its name.
func (s *Service) describe(p, lang string) string {
	for _, e := range s.cfg.Permissions.Entries() {
		if string(e.Name) == p {
			return e.Describe(lang)
		}
	}
	return p
}

// consent is what the consent page shows.
type consent struct {
	Client, Who string
	Items       []string
}

// loginConsent is the person's answer on the consent page: allow completes
// the authorization request, anything else refuses it (access_denied).
func (s *Service) loginConsent(w http.ResponseWriter, r *http.Request, v *view) error {
	if !s.csrfOK(r, "/login/consent") || v.Onward.AuthRequest == "" {
		s.message(w, v, http.StatusForbidden, "error.bad_form.title", v.T("err.csrf"), nil)
		return nil
	}
	b, ok, err := s.browser(r.Context(), r)
	if err != nil {
		return err
	}
	if !ok {
		s.message(w, v, http.StatusUnauthorized, "error.step_expired.title", v.T("error.step_expired.text"),
			&link{Href: template.URL("/login?" + url.Values{"auth_request": {v.Onward.AuthRequest}}.Encode()), Label: v.T("link.login_again")})
		return nil
	}
	if r.PostForm.Get("decision") != "allow" {
		return s.refuse(w, r, v, "access_denied", "The person did not consent.")
	}
	return s.complete(w, r, v, b, true)
}

// onwardLink is the link a finished page shows: back to the application
// that started it, else def.
func (v *view) onwardLink(def *link) *link {
	if v.Onward.ReturnTo != "" {
		return &link{Href: template.URL(v.Onward.ReturnTo), Label: v.T("link.back_to", v.Onward.ClientName)}
	}
	return def
}
