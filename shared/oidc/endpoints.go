package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// UserInfo is the userinfo endpoint's answer (OpenID Connect Core §5.3).
type UserInfo struct {
	Subject       string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	Locale        string `json:"locale,omitempty"`
	OrgID         string `json:"org_id"`
	OrgCode       string `json:"org_code"`
}

// userinfo answers who a session's access token names (API keys are not
// accepted: they name no sign-in).
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) error {
	bearer := func(desc string) error {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		return writeJSON(w, http.StatusUnauthorized, oauthError{Code: "invalid_token", Description: desc})
	}
	secret, ok := token.Bearer(r.Header.Get("Authorization"))
	if !ok {
		return bearer("An access token is required (Authorization: Bearer).")
	}
	pr, ok, err := p.tokens.Principal(r.Context(), secret, token.Access)
	if err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if !ok {
		return bearer("The access token is unknown, expired or revoked.")
	}
	uc, err := p.store.UserContextOf(r.Context(), pr.Org, pr.User)
	if err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if !uc.Found {
		return bearer("The account is gone.")
	}
	u := uc.User
	info := UserInfo{Subject: u.Subject(), GivenName: u.FirstName, FamilyName: u.LastName, Locale: u.Language,
		Name: strings.TrimSpace(u.FirstName + " " + u.LastName), OrgID: u.Org, OrgCode: uc.Org.Code}
	if u.Email != "" {
		verified := !u.Unproved
		info.Email, info.EmailVerified = u.Email, &verified
	}
	return writeJSON(w, http.StatusOK, info)
}

// revoke is RFC 7009 revocation: a refresh token ends its session, an
// access token its own credential. An unknown token, or another client's
// kind of token, is answered 200 as the RFC asks.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return answer(w, invalidRequest("The body is not a form within 16 KiB."))
	}
	if _, err := p.authenticate(r); err != nil {
		return answer(w, err)
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return answer(w, invalidRequest("token is required."))
	}
	ctx := r.Context()
	if hash, ok := p.accessHash(tok); ok {
		if err := p.store.DeleteAccessToken(ctx, hash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("oidc: revoke: %w", err)
		}
	} else if _, hash, ok := token.Parse(tok, token.Refresh); ok {
		cred, err := p.store.GetCredential(ctx, hash)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("oidc: revoke: %w", err)
		}
		if err == nil && cred.Kind == store.RefreshToken && cred.Session != "" {
			if err := p.sessions.Logout(ctx, cred.Session); err != nil {
				return fmt.Errorf("oidc: revoke: %w", err)
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// Introspection is RFC 7662's answer; Principal is Guichet's principal of
// an active token (what GET /v1/me answers of it).
type Introspection struct {
	Active    bool              `json:"active"`
	Scope     string            `json:"scope,omitempty"`
	ClientID  string            `json:"client_id,omitempty"`
	Subject   string            `json:"sub,omitempty"`
	TokenType string            `json:"token_type,omitempty"`
	Expiry    int64             `json:"exp,omitempty"`
	Issuer    string            `json:"iss,omitempty"`
	Principal *access.Principal `json:"principal,omitempty"`
}

// introspect is RFC 7662 introspection, for confidential clients only:
// access tokens and API keys, checked as the strict authorizer checks them
// (one GetItem). Any other token is inactive.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return answer(w, invalidRequest("The body is not a form within 16 KiB."))
	}
	c, err := p.authenticate(r)
	if err == nil && !c.Confidential() {
		err = invalidClient() // a public client cannot keep a secret: it may not introspect
	}
	if err != nil {
		return answer(w, err)
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return answer(w, invalidRequest("token is required."))
	}
	pr, ok, err := p.tokens.Principal(r.Context(), tok, token.Access, token.APIKey)
	if err != nil {
		return fmt.Errorf("oidc: introspect: %w", err)
	}
	if !ok {
		return writeJSON(w, http.StatusOK, Introspection{Active: false})
	}
	a := pr.Access()
	return writeJSON(w, http.StatusOK, Introspection{Active: true, Scope: strings.Join(permission.Strings(pr.Permissions), " "),
		ClientID: pr.Client, Subject: pr.Subject(), TokenType: "Bearer", Expiry: pr.Expires, Issuer: p.cfg.Issuer, Principal: &a})
}

// logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0):
// the id_token_hint names the session to end (its sid) and the client,
// whose registered post_logout_redirect_uri the browser is sent back to.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	hint, redirect, clientID := q.Get("id_token_hint"), q.Get("post_logout_redirect_uri"), q.Get("client_id")
	var c IDClaims
	if hint != "" {
		var err error
		if c, err = p.hintClaims(hint); err != nil {
			return problem.BadRequest("invalid_id_token_hint", "The id_token_hint is not an id_token of this provider.")
		}
		if clientID != "" && (len(c.Audience) != 1 || c.Audience[0] != clientID) {
			return problem.BadRequest("invalid_id_token_hint", "The id_token_hint was issued to another client.")
		}
		if len(c.Audience) == 1 {
			clientID = c.Audience[0]
		}
	}
	if redirect != "" {
		cl, ok := p.cfg.Clients.Find(clientID)
		if !ok || !cl.PostLogout(redirect) {
			return problem.BadRequest("unregistered_redirect", "The post_logout_redirect_uri is not one of the client's (name the client by id_token_hint or client_id).")
		}
	}
	if c.SessionID != "" {
		if err := p.sessions.Logout(r.Context(), c.SessionID); err != nil {
			return fmt.Errorf("oidc: logout: %w", err)
		}
		if err := p.endBrowser(w, r, c); err != nil {
			return fmt.Errorf("oidc: logout: %w", err)
		}
	}
	if redirect == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, err := w.Write([]byte("Signed out.\n"))
		return err
	}
	v := url.Values{}
	if s := q.Get("state"); s != "" {
		v.Set("state", s)
	}
	to := redirect
	if len(v) > 0 {
		to = withQuery(redirect, v)
	}
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// endBrowser ends the browser's single sign-on session when it is the
// one of hint's person (another site cannot sign a browser out of its own
// account with an id_token of someone else), and clears its cookie.
func (p *Provider) endBrowser(w http.ResponseWriter, r *http.Request, hint IDClaims) error {
	rt := p.cfg.Cookie.Read(r)
	if rt == "" {
		return nil
	}
	b, ok, err := p.sessions.Browser(r.Context(), rt)
	if err != nil {
		return err
	}
	if ok && (b.User.Subject() != hint.Subject || b.Org.ID != hint.OrgID) {
		return nil
	}
	if ok {
		if err := p.sessions.Logout(r.Context(), b.Session); err != nil {
			return err
		}
	}
	p.cfg.Cookie.Clear(w)
	return nil
}

// hintClaims verifies an id_token_hint: signed by this provider's keys,
// issued by it (it may have expired: a hint names, it does not authorize).
func (p *Provider) hintClaims(hint string) (IDClaims, error) {
	var c IDClaims
	if p.keys == nil {
		return c, errors.New("oidc: no keys")
	}
	payload, err := signing.Verify(p.keys.JWKS(), hint, signing.IDToken)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, err
	}
	if c.Issuer != p.cfg.Issuer {
		return c, errors.New("oidc: another issuer")
	}
	return c, nil
}

// accessHash is the hash keying the credential of a JWT access token of
// this provider (its jti's), signature and issuer checked; false for
// anything else. An expired token still names its credential.
func (p *Provider) accessHash(tok string) (string, bool) {
	if p.keys == nil || strings.Count(tok, ".") != 2 {
		return "", false
	}
	payload, err := signing.Verify(p.keys.JWKS(), tok, signing.AccessToken)
	if err != nil {
		return "", false
	}
	var c access.Claims
	if json.Unmarshal(payload, &c) != nil || c.Issuer != p.cfg.Issuer || c.ID == "" {
		return "", false
	}
	return token.Hash(c.ID), true
}
