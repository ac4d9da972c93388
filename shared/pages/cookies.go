package pages

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// Two cookies, both HttpOnly, SameSite=Strict and Path=/:
//
//   - the session cookie holds the access token of the session the pages
//     opened (after accepting an invitation, signing in or a sign-in
//     step), for as long as that token lives (ACCESS_TOKEN_TTL). The
//     refresh token is not kept: refreshing is the app's business. The
//     pages read the cookie only to say who is signed in and to end that
//     session when another account signs in in the same browser;
//   - the CSRF cookie holds a random secret, for the double submit of
//     every form (see csrfToken).
//
// Served over HTTPS, their names carry the __Host- prefix and they are
// Secure: the browser then takes them only from this very host over
// HTTPS, for Path=/, so a sibling subdomain can neither set nor overwrite
// them. On http://127.0.0.1 or http://localhost (`make run`) they are
// plain cookies, which browsers keep over HTTP.
const (
	sessionCookie = "guichet_session"
	csrfCookie    = "guichet_csrf"
	hostPrefix    = "__Host-"
)

func (s *Service) cookieName(name string) string {
	if s.secure {
		return hostPrefix + name
	}
	return name
}

// cookie returns the value of the cookie name, or "".
func (s *Service) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets the cookie name; maxAge < 0 deletes it, 0 keeps it for
// the browser's session.
func (s *Service) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}

// CSRF: double submit, bound to the form. The CSRF cookie holds a random
// secret; each form carries, in its hidden csrf field, the HMAC of its own
// path under that secret. A post is accepted only when the field matches
// the cookie sent with it. Another site can make a browser post to the
// pages, but cannot read the secret nor set the cookie (HttpOnly,
// SameSite=Strict, __Host-), so it cannot forge the field; and a field
// taken from one form does not work on another. As a second line, a post
// whose Sec-Fetch-Site says it came from another site is refused outright.
//
// Origin is not checked: with Referrer-Policy: no-referrer browsers send
// "Origin: null" on form posts.

const secretLen = 32

// csrfSecret returns the browser's CSRF secret, making (and setting) a new
// one when the request carries none.
func (s *Service) csrfSecret(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if b, ok := decodeSecret(s.cookie(r, csrfCookie)); ok {
		return b, nil
	}
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s.setCookie(w, csrfCookie, base64.RawURLEncoding.EncodeToString(b), 0)
	return b, nil
}

func decodeSecret(v string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return b, err == nil && len(b) == secretLen
}

// csrfToken is the hidden field of the form posted to action.
func csrfToken(secret []byte, action string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("guichet-csrf:" + action))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfOK checks a post to action (its form already parsed).
func (s *Service) csrfOK(r *http.Request, action string) bool {
	switch strings.ToLower(r.Header.Get("Sec-Fetch-Site")) {
	case "", "same-origin", "none":
	default:
		return false
	}
	secret, ok := decodeSecret(s.cookie(r, csrfCookie))
	if !ok {
		return false
	}
	return hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(csrfToken(secret, action)))
}
