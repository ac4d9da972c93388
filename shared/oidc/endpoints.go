package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/session"
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
// accepted: they name no sign-in): sub and the organization always, the
// claims of the email and profile scopes when the token's client was
// granted them. The JSON login API's tokens (no OpenID Connect client)
// get every claim: their holder reads the whole profile at GET /v1/me.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) error {
	refuse := func(status int, code, desc string) error {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
		return writeJSON(w, status, oauthError{Code: code, Description: desc})
	}
	bearer := func(desc string) error { return refuse(http.StatusUnauthorized, "invalid_token", desc) }
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
	all := pr.OIDCClient == ""
	if !all && !hasScope(pr.OIDCScopes, registry.ScopeOpenID) {
		// OpenID Connect Core §5.3: userinfo answers OpenID Connect's tokens.
		return refuse(http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope.")
	}
	uc, err := p.store.UserContextOf(r.Context(), pr.Org, pr.User)
	if err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	if !uc.Found {
		return bearer("The account is gone.")
	}
	u := uc.User
	info := UserInfo{Subject: u.Subject(), OrgID: u.Org, OrgCode: uc.Org.Code}
	if all || hasScope(pr.OIDCScopes, registry.ScopeProfile) {
		info.GivenName, info.FamilyName, info.Locale = u.FirstName, u.LastName, u.Language
		info.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	if (all || hasScope(pr.OIDCScopes, registry.ScopeEmail)) && u.Email != "" {
		verified := !u.Unproved
		info.Email, info.EmailVerified = u.Email, &verified
	}
	return writeJSON(w, http.StatusOK, info)
}

// revoke is RFC 7009 revocation: a refresh token ends its session, an
// access token its own credential, when the client authenticated is the
// one the token was issued to (§2.1). An unknown token, or another
// client's, is answered 200 as the RFC asks, and revokes nothing.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return answer(w, invalidRequest("The body is not a form within 16 KiB."))
	}
	cl, err := p.authenticate(r)
	if err != nil {
		return answer(w, err)
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return answer(w, invalidRequest("token is required."))
	}
	ctx := r.Context()
	if c, ok := p.accessClaims(ctx, tok); ok {
		// The client's own only: the JSON API's say session.FirstParty,
		// which no registered client is.
		if c.ClientID == cl.ID {
			if err := p.store.DeleteAccessToken(ctx, token.Hash(c.ID)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("oidc: revoke: %w", err)
			}
		}
	} else if _, hash, ok := token.Parse(tok, token.Refresh); ok {
		cred, err := p.store.GetCredential(ctx, hash)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("oidc: revoke: %w", err)
		}
		if err == nil && cred.Kind == store.RefreshToken && cred.OIDCClient == cl.ID && cred.Session != "" {
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

// introspect is RFC 7662 introspection, for the deployment's own
// confidential clients only (first_party: a resource server of the
// application, which sees the tokens of every organization): access
// tokens and API keys, checked as the strict authorizer checks them (one
// GetItem). Any other token is inactive.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return answer(w, invalidRequest("The body is not a form within 16 KiB."))
	}
	c, err := p.authenticate(r)
	switch {
	case err != nil:
	case !c.Confidential():
		err = invalidClient() // a public client cannot keep a secret: it may not introspect
	case !c.FirstParty:
		err = &oauthError{http.StatusForbidden, "unauthorized_client",
			"Only the deployment's own (first-party) confidential clients may introspect: a token names a principal of any organization."}
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
		ClientID: clientOf(pr), Subject: pr.Subject(), TokenType: "Bearer", Expiry: pr.Expires, Issuer: p.cfg.Issuer, Principal: &a})
}

// clientOf is the client a token was issued to, as its JWT's client_id
// says: the OpenID Connect client, a key's or service user's client
// application, else the JSON login API's session.FirstParty.
func clientOf(pr principal.Principal) string {
	switch {
	case pr.OIDCClient != "":
		return pr.OIDCClient
	case pr.Client != "":
		return pr.Client
	case pr.Credential == principal.Session:
		return session.FirstParty
	}
	return ""
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
		if c, err = p.hintClaims(r.Context(), hint); err != nil {
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
	}
	var person *IDClaims
	if hint != "" {
		person = &c
	}
	if err := p.endBrowser(w, r, person); err != nil {
		return fmt.Errorf("oidc: logout: %w", err)
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

// endBrowser ends the browser's single sign-on session and clears its
// cookie. With an id_token hint, only when the session is the hint's
// person's (another site cannot sign a browser out of its own account with
// an id_token of someone else); without one, whoever it is: an
// application's "log out" that sends no hint must not leave the next
// person at a shared computer signed in silently.
func (p *Provider) endBrowser(w http.ResponseWriter, r *http.Request, hint *IDClaims) error {
	rt := p.cfg.Cookie.Read(r)
	if rt == "" {
		return nil
	}
	b, ok, err := p.sessions.Browser(r.Context(), rt)
	if err != nil {
		return err
	}
	if ok && hint != nil && (b.User.Subject() != hint.Subject || b.Org.ID != hint.OrgID) {
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
func (p *Provider) hintClaims(ctx context.Context, hint string) (IDClaims, error) {
	var c IDClaims
	keys, err := p.keySet(ctx)
	if err != nil {
		return c, err
	}
	payload, err := signing.Verify(keys.JWKS(), hint, signing.IDToken)
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

// accessClaims are the claims of a JWT access token of this provider,
// signature and issuer checked; false for anything else. An expired token
// still names its credential (the hash of its jti) and its client.
func (p *Provider) accessClaims(ctx context.Context, tok string) (access.Claims, bool) {
	var c access.Claims
	if strings.Count(tok, ".") != 2 {
		return c, false
	}
	keys, err := p.keySet(ctx)
	if err != nil {
		return c, false
	}
	payload, err := signing.Verify(keys.JWKS(), tok, signing.AccessToken)
	if err != nil {
		return c, false
	}
	if json.Unmarshal(payload, &c) != nil || c.Issuer != p.cfg.Issuer || c.ID == "" {
		return access.Claims{}, false
	}
	return c, true
}
