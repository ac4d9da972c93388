package oidc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
)

// Operations returns the handlers of the OpenID Connect routes. They speak
// OAuth's own formats (form bodies, {error, error_description} answers,
// redirects), not the API's JSON: the API description leaves them out
// (route.Route.Page). It reads nothing of p, which may be nil.
func (p *Provider) Operations() router.Operations {
	return router.Operations{
		route.OpOIDCDiscovery:  {Handle: p.discovery, ContentTypes: []string{"application/json"}},
		route.OpOIDCAuthorize:  {Handle: p.authorize, ContentTypes: []string{"text/html"}},
		route.OpOIDCToken:      {Handle: p.token, ContentTypes: []string{"application/json"}},
		route.OpOIDCUserInfo:   {Handle: p.userinfo, ContentTypes: []string{"application/json"}},
		route.OpOIDCRevoke:     {Handle: p.revoke},
		route.OpOIDCIntrospect: {Handle: p.introspect, ContentTypes: []string{"application/json"}},
		route.OpOIDCLogout:     {Handle: p.logout, ContentTypes: []string{"text/plain"}},
	}
}

// maxForm bounds a token request's body.
const maxForm = 16 << 10

// oauthError is an error answer of RFC 6749 §5.2.
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(d string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", d}
}
func invalidGrant(d string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", d}
}
func invalidClient() *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store") // tokens, and answers about them
	}
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// answer writes err as OAuth's error answer when it is one (or a problem
// of the session rules), else returns it for the router's 500.
func answer(w http.ResponseWriter, err error) error {
	var oe *oauthError
	if errors.As(err, &oe) {
		if oe.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="guichet"`)
		}
		return writeJSON(w, oe.Status, oe)
	}
	if pr, ok := problem.As(err); ok && pr.Status < 500 {
		code := "invalid_grant"
		if pr.Status == http.StatusTooManyRequests {
			code = "slow_down"
		}
		return writeJSON(w, http.StatusBadRequest, oauthError{Code: code, Description: pr.Detail})
	}
	return err
}

// Discovery is the provider's metadata (OpenID Connect Discovery 1.0 §3).
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	AuthorizationResponseIssParameter bool     `json:"authorization_response_iss_parameter_supported"`
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) error {
	base := strings.TrimSuffix(p.cfg.Issuer, "/")
	w.Header().Set("Cache-Control", "public, max-age=300")
	return writeJSON(w, http.StatusOK, Discovery{
		Issuer:                            p.cfg.Issuer,
		AuthorizationEndpoint:             base + "/oauth/authorize",
		TokenEndpoint:                     base + "/oauth/token",
		JWKSURI:                           base + "/.well-known/jwks.json",
		UserInfoEndpoint:                  base + "/oauth/userinfo",
		RevocationEndpoint:                base + "/oauth/revoke",
		IntrospectionEndpoint:             base + "/oauth/introspect",
		EndSessionEndpoint:                base + "/oauth/logout",
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256", "ES256"},
		ScopesSupported:                   []string{registry.ScopeOpenID, registry.ScopeProfile, registry.ScopeEmail, registry.ScopeOfflineAccess},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "email", "email_verified", "name", "given_name", "family_name", "org_id", "org_code"},
		AuthorizationResponseIssParameter: true,
	})
}

// authorize is the authorization endpoint (code flow only). A request with
// an unknown client or an unregistered redirect is answered here, never
// redirected (RFC 6749 §4.1.2.1); any other error goes back to the client.
//
// Each request is counted against its client's address first: past the
// limit, a 429 problem with Retry-After.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) error {
	if err := p.limit.Take(r.Context(), session.ClientKey(r.RemoteAddr)); err != nil {
		return err
	}
	q := r.URL.Query()
	c, ok := p.cfg.Clients.Find(q.Get("client_id"))
	if !ok {
		return problem.BadRequest("unknown_client", "The client_id is not a registered client.")
	}
	redirect := q.Get("redirect_uri")
	if !c.Redirect(redirect) {
		return problem.BadRequest("unregistered_redirect", "The redirect_uri is not one of the client's.")
	}
	state := q.Get("state")
	back := func(code, desc string) error {
		v := url.Values{"error": {code}, "error_description": {desc}, "iss": {p.cfg.Issuer}}
		if state != "" {
			v.Set("state", state)
		}
		http.Redirect(w, r, withQuery(redirect, v), http.StatusFound)
		return nil
	}
	if c.Type == registry.Service {
		return back("unauthorized_client", "A service client has no authorization flow: use client_credentials.")
	}
	if q.Get("response_type") != "code" {
		return back("unsupported_response_type", "Only the authorization code flow (response_type=code) is supported.")
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return back("invalid_request", "Only response_mode=query is supported.")
	}
	if q.Has("request") || q.Has("request_uri") {
		return back("request_not_supported", "Request objects are not supported.")
	}
	// A client that is not the deployment's own signs people in with their
	// consent (the hosted login asks), and its tokens carry only the
	// permissions it asked for as scopes, within the person's role
	// (Limited); a first-party client's carry the whole role unless it
	// asks for permissions too.
	scopes := strings.Fields(q.Get("scope"))
	for _, s := range scopes {
		if !c.Allows(s) {
			return back("invalid_scope", fmt.Sprintf("The client may not ask for the scope %q.", s))
		}
	}
	if hasScope(scopes, registry.ScopeOpenID) {
		if _, err := p.keySet(r.Context()); err != nil {
			return back("temporarily_unavailable", "No signing key: the openid scope is unavailable.")
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && !c.Confidential():
		return back("invalid_request", "A public client must use PKCE (code_challenge with code_challenge_method=S256).")
	case challenge != "" && method != "S256":
		return back("invalid_request", "Only the S256 code challenge method is accepted.")
	case challenge != "" && len(challenge) != 43:
		return back("invalid_request", "The code_challenge is not a base64url SHA-256.")
	}
	prompt, err := prompts(q.Get("prompt"))
	if err != nil {
		return back("invalid_request", err.Error())
	}
	maxAge := 0
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxMaxAge {
			return back("invalid_request", "max_age is a number of seconds, at most a year.")
		}
		maxAge = n
		if n == 0 && !slices.Contains(prompt, PromptLogin) {
			prompt = append(prompt, PromptLogin) // max_age=0 is prompt=login (OpenID Connect Core §3.1.2.1)
		}
	}
	if len(q.Get("nonce")) > 512 || len(state) > 1024 {
		return back("invalid_request", "The nonce or state is too long.")
	}
	now := p.now()
	req := store.AuthRequest{ID: store.NewID("oar_"), Client: c.ID, RedirectURI: redirect, Scopes: scopes,
		State: state, Nonce: q.Get("nonce"), CodeChallenge: challenge,
		UILocales: trim(q.Get("ui_locales"), 64), Prompt: strings.Join(prompt, " "), LoginHint: trim(q.Get("login_hint"), 320),
		MaxAge: maxAge, Created: now, Expires: now.Add(RequestTTL).Unix()}
	if err := p.store.PutAuthRequest(r.Context(), req); err != nil {
		return fmt.Errorf("oidc: authorize: %w", err)
	}
	http.Redirect(w, r, strings.TrimSuffix(p.cfg.Issuer, "/")+"/login?auth_request="+req.ID, http.StatusFound)
	return nil
}

// The prompt values of OpenID Connect Core §3.1.2.1 the hosted login
// honours: none signs in only with the browser's session, login always
// asks for the password. consent and select_account are accepted: only
// first-party clients sign people in, without a consent step, and a
// browser session is one account.
const (
	PromptNone  = "none"
	PromptLogin = "login"
)

// maxMaxAge is the largest max_age taken, in seconds (a year).
const maxMaxAge = 366 * 24 * 3600

// prompts parses the prompt parameter.
func prompts(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Fields(v) {
		switch p {
		case PromptNone, PromptLogin, "consent", "select_account":
		default:
			return nil, fmt.Errorf("prompt %q is not one of none, login, consent, select_account", trim(p, 32))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if slices.Contains(out, PromptNone) && len(out) > 1 {
		return nil, errors.New("prompt=none goes with no other value")
	}
	return out, nil
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TokenResponse is the token endpoint's answer (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// token is the token endpoint.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return answer(w, invalidRequest("The body is not a form within 16 KiB."))
	}
	f := r.PostForm
	c := session.Client{IP: r.RemoteAddr, UserAgent: r.UserAgent()}
	var (
		res TokenResponse
		err error
	)
	switch f.Get("grant_type") {
	case "authorization_code":
		var cl registry.Client
		if cl, err = p.authenticate(r); err == nil {
			res, err = p.exchange(r.Context(), cl, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"), c)
		}
	case "refresh_token":
		var cl registry.Client
		if cl, err = p.authenticate(r); err == nil {
			res, err = p.refresh(r.Context(), cl, f.Get("refresh_token"))
		}
	case "client_credentials":
		res, err = p.clientCredentials(r, c)
	case "":
		err = invalidRequest("grant_type is required.")
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "Supported: authorization_code, refresh_token, client_credentials."}
	}
	if err != nil {
		return answer(w, err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// credentials are the client id and secret of a token request: HTTP Basic
// (RFC 6749 §2.3.1, form-encoded parts) or the body.
func credentials(r *http.Request) (id, secret string, basic bool) {
	if u, pw, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(pw)
		return id, secret, true
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false
}

// authenticate returns the registered client of a token request: a
// confidential client by its secret, a public one by its id.
func (p *Provider) authenticate(r *http.Request) (registry.Client, error) {
	id, secret, _ := credentials(r)
	c, ok := p.cfg.Clients.Find(id)
	if !ok {
		return c, invalidClient()
	}
	if c.Confidential() {
		if !c.CheckSecret(secret) {
			return c, invalidClient()
		}
	} else if secret != "" {
		return c, invalidClient()
	}
	return c, nil
}

// asProblem is the status of err when it is a problem.
func asProblem(err error) (int, bool) {
	pr, ok := problem.As(err)
	if !ok {
		return 0, false
	}
	return pr.Status, true
}
