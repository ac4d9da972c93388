package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
)

// exchange is the authorization_code grant: the code is one-time, bound to
// its client, its redirect_uri and its PKCE challenge. A code presented
// again ends the session its first exchange opened (RFC 6749 §4.1.2).
func (p *Provider) exchange(ctx context.Context, cl registry.Client, code, redirect, verifier string, c session.Client) (TokenResponse, error) {
	id, ok := codeRequest(code)
	if !ok {
		return TokenResponse{}, invalidGrant("The code is malformed.")
	}
	r, err := p.store.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return TokenResponse{}, invalidGrant("The code is unknown or expired.")
	}
	if err != nil {
		return TokenResponse{}, fmt.Errorf("oidc: exchange: %w", err)
	}
	now := p.now()
	switch {
	case r.CodeHash == "" || !equal(hashOf(code), r.CodeHash):
		return TokenResponse{}, invalidGrant("The code is unknown or expired.")
	case r.Client != cl.ID:
		// Before reuse: another client presenting a used code ends nothing.
		return TokenResponse{}, invalidGrant("The code was issued to another client.")
	case r.RedirectURI != redirect:
		return TokenResponse{}, invalidGrant("The redirect_uri is not the authorization request's.")
	case r.Exchanged != 0:
		if err := p.sessions.Logout(ctx, r.Session); err != nil {
			return TokenResponse{}, fmt.Errorf("oidc: reused code: %w", err)
		}
		return TokenResponse{}, invalidGrant("The code was already used; the tokens issued with it are revoked.")
	case r.Expires <= now.Unix():
		return TokenResponse{}, invalidGrant("The code is unknown or expired.")
	case r.CodeChallenge == "" && verifier != "":
		return TokenResponse{}, invalidGrant("The authorization request had no code_challenge.")
	case r.CodeChallenge != "" && (!validVerifier(verifier) || !equal(s256(verifier), r.CodeChallenge)):
		return TokenResponse{}, invalidGrant("The code_verifier does not match the code_challenge.")
	}
	uc, err := p.store.UserContextOf(ctx, r.Org, r.User)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("oidc: exchange: %w", err)
	}
	if !uc.Found || uc.User.Status != store.Active {
		return TokenResponse{}, invalidGrant("The account is no longer active.")
	}
	c.OIDCClient, c.OIDCScopes, c.Limited = cl.ID, r.Scopes, Limited(cl, r.Scopes)
	ns, err := p.sessions.Prepare(ctx, uc.User, c)
	if err != nil {
		return TokenResponse{}, err
	}
	ns.Refresh.Verified = slices.Contains(r.AMR, "otp")
	switch err := p.store.ExchangeCode(ctx, r, now, ns.Session, ns.Access, ns.Refresh); {
	case store.Lost(err, store.LinkUsed):
		return TokenResponse{}, invalidGrant("The code was already used.")
	case store.Lost(err, store.UserChanged), store.Lost(err, store.RoleChanged):
		return TokenResponse{}, invalidGrant("The account changed meanwhile; sign in again.")
	case err != nil:
		return TokenResponse{}, fmt.Errorf("oidc: exchange: %w", err)
	}
	res := TokenResponse{AccessToken: ns.Tokens.AccessToken, TokenType: "Bearer", ExpiresIn: ns.Tokens.ExpiresIn,
		Scope: strings.Join(r.Scopes, " ")}
	if hasScope(r.Scopes, registry.ScopeOfflineAccess) {
		res.RefreshToken = ns.Tokens.RefreshToken
	}
	if hasScope(r.Scopes, registry.ScopeOpenID) {
		if res.IDToken, err = p.idToken(ctx, r, uc.User, uc.Org, ns.Session.ID); err != nil {
			return TokenResponse{}, err
		}
	}
	return res, nil
}

// IDClaims are the claims of an id_token.
type IDClaims struct {
	Issuer        string   `json:"iss"`
	Subject       string   `json:"sub"`
	Audience      []string `json:"aud"`
	AuthorizedBy  string   `json:"azp"`
	Expiry        int64    `json:"exp"`
	IssuedAt      int64    `json:"iat"`
	AuthTime      int64    `json:"auth_time,omitempty"`
	Nonce         string   `json:"nonce,omitempty"`
	SessionID     string   `json:"sid"`
	AMR           []string `json:"amr,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	GivenName     string   `json:"given_name,omitempty"`
	FamilyName    string   `json:"family_name,omitempty"`
	OrgID         string   `json:"org_id"`
	OrgCode       string   `json:"org_code"`
}

// idToken signs the id_token of request r with the key set of the time.
func (p *Provider) idToken(ctx context.Context, r store.AuthRequest, u store.User, o store.Org, sid string) (string, error) {
	keys, err := p.keySet(ctx)
	if err != nil {
		return "", fmt.Errorf("oidc: id_token: %w", err)
	}
	now := p.now()
	c := IDClaims{Issuer: p.cfg.Issuer, Subject: u.Subject(), Audience: []string{r.Client}, AuthorizedBy: r.Client,
		Expiry: now.Add(p.cfg.IDTokenTTL).Unix(), IssuedAt: now.Unix(), AuthTime: r.AuthTime, Nonce: r.Nonce,
		SessionID: sid, AMR: r.AMR, OrgID: u.Org, OrgCode: o.Code}
	if hasScope(r.Scopes, registry.ScopeEmail) && u.Email != "" {
		verified := !u.Unproved
		c.Email, c.EmailVerified = u.Email, &verified
	}
	if hasScope(r.Scopes, registry.ScopeProfile) {
		c.GivenName, c.FamilyName = u.FirstName, u.LastName
		c.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	tok, err := keys.Sign(c, signing.IDToken)
	if err != nil {
		return "", fmt.Errorf("oidc: id_token: %w", err)
	}
	return tok, nil
}

// refresh is the refresh_token grant of client cl: session.Service.Refresh's
// rotation and reuse detection, for refresh tokens issued to cl only.
func (p *Provider) refresh(ctx context.Context, cl registry.Client, rt string) (TokenResponse, error) {
	if rt == "" {
		return TokenResponse{}, invalidRequest("refresh_token is required.")
	}
	v, err := p.sessions.Refresh(ctx, rt, cl.ID)
	if err != nil {
		return TokenResponse{}, err
	}
	t, ok := v.(session.Tokens)
	if !ok {
		// A step became due (session.Challenge): only a new sign-in opens
		// a session.
		return TokenResponse{}, invalidGrant("The session needs a new sign-in.")
	}
	return TokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn, RefreshToken: t.RefreshToken}, nil
}

// clientCredentials is the client_credentials grant of a service user:
// client_id "<organization code>/<user code>", its password as the
// secret, as POST /v1/auth/token takes them.
func (p *Provider) clientCredentials(r *http.Request, c session.Client) (TokenResponse, error) {
	id, secret, _ := credentials(r)
	org, code, ok := strings.Cut(id, "/")
	if !ok {
		if cl, found := p.cfg.Clients.Find(id); found && cl.Type == registry.Service && cl.CheckSecret(secret) {
			return TokenResponse{}, &oauthError{http.StatusBadRequest, "unauthorized_client",
				"A service client of the configuration has no organization to act in yet: use a service user's credentials."}
		}
		return TokenResponse{}, invalidClient()
	}
	if org == "" || code == "" || secret == "" || len(id) > 129 || len(secret) > 1024 {
		return TokenResponse{}, invalidClient()
	}
	t, err := p.sessions.ServiceToken(r.Context(), org, code, secret, c)
	if err != nil {
		if pr, ok := asProblem(err); ok && pr == http.StatusUnauthorized {
			return TokenResponse{}, invalidClient()
		}
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: t.ExpiresIn}, nil
}
