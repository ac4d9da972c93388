package session

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// BrowserClient is the OpenID Connect client recorded on the refresh
// token of a session the hosted pages open (Client.Browser): the
// browser's single sign-on session. No registered client may have it (ids
// hold no colon), and the JSON API's refresh asks for "", so that token
// refreshes nowhere: it only proves the browser's session to the pages.
const BrowserClient = "guichet:browser"

// Browser is the live single sign-on session of a browser.
type Browser struct {
	Session  string
	User     store.User
	Org      store.Org
	AuthTime time.Time
	// AMR are the methods its sign-in used: "pwd", and "otp" when it
	// proved a two-step code.
	AMR []string
}

// Browser returns the session the browser's cookie value rt (the refresh
// token of a session opened with Client.Browser) names, when it is live,
// its user active and no step due since (two-step verification newly
// required, a new password): false otherwise. It reads the token's
// credential and its user's context, and writes nothing.
func (s *Service) Browser(ctx context.Context, rt string) (Browser, bool, error) {
	c, ok, err := s.browserCredential(ctx, rt)
	if err != nil || !ok || !c.Valid(s.now()) || c.Rotated != 0 {
		return Browser{}, false, err
	}
	uc, err := s.store.UserContextOf(ctx, c.Org, c.User)
	if err != nil {
		return Browser{}, false, err
	}
	if !uc.Found || uc.User.Status != store.Active || dueFor(c, uc) != "" {
		return Browser{}, false, nil
	}
	amr := []string{"pwd"}
	if c.Verified {
		amr = append(amr, "otp")
	}
	at := c.Created
	if c.AuthTime != 0 {
		at = time.Unix(c.AuthTime, 0)
	}
	return Browser{Session: c.Session, User: uc.User, Org: uc.Org, AuthTime: at, AMR: amr}, true, nil
}

// EndBrowser ends the session of the browser's cookie value rt, if it is
// one (a live or expired browser session's refresh token).
func (s *Service) EndBrowser(ctx context.Context, rt string) error {
	c, ok, err := s.browserCredential(ctx, rt)
	if err != nil || !ok {
		return err
	}
	return s.end(ctx, c.Session)
}

// browserCredential is the refresh credential of a browser session that
// the cookie value rt names, live or not: false for anything else.
func (s *Service) browserCredential(ctx context.Context, rt string) (store.Credential, bool, error) {
	_, hash, ok := token.Parse(rt, token.Refresh)
	if !ok {
		return store.Credential{}, false, nil
	}
	c, err := s.store.GetCredential(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, false, nil
	}
	if err != nil {
		return store.Credential{}, false, err
	}
	return c, c.Kind == store.RefreshToken && c.OIDCClient == BrowserClient, nil
}

// BrowserCookie is the cookie of the browser's single sign-on session:
// the refresh token of the session the hosted pages opened. It is
// HttpOnly and, served over HTTPS, Secure with the __Host- prefix (only
// this very host sets or reads it). It is SameSite=Lax, not Strict: an
// application sends the browser to the authorization endpoint from its
// own site, and the hosted login must see the cookie on that navigation
// to sign in without a password. Lax sends it on top-level GETs only;
// every form of the pages keeps its own CSRF defence.
type BrowserCookie struct{ Secure bool }

// NewBrowserCookie returns the cookie of the pages served at publicURL.
func NewBrowserCookie(publicURL string) BrowserCookie {
	return BrowserCookie{Secure: SecureOrigin(publicURL)}
}

const browserCookie = "guichet_sso"

// Name is the cookie's name.
func (b BrowserCookie) Name() string {
	if b.Secure {
		return "__Host-" + browserCookie
	}
	return browserCookie
}

// Read returns the cookie's value in r, or "".
func (b BrowserCookie) Read(r *http.Request) string {
	c, err := r.Cookie(b.Name())
	if err != nil {
		return ""
	}
	return c.Value
}

// Set sets the cookie to rt for maxAge seconds; Clear deletes it.
func (b BrowserCookie) Set(w http.ResponseWriter, rt string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: b.Name(), Value: rt, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: b.Secure, SameSite: http.SameSiteLaxMode})
}

// Clear deletes the cookie.
func (b BrowserCookie) Clear(w http.ResponseWriter) { b.Set(w, "", -1) }

// SecureOrigin reports whether pages served at publicURL are served over
// HTTPS, or anywhere but the loopback over HTTP (where a browser then
// drops Secure cookies, which is safer than sending them in clear).
func SecureOrigin(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme == "https" {
		return true
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return false
	}
	return true
}
