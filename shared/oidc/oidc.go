// Package oidc is Guichet's OpenID Connect provider: the authorization
// endpoint and its hand-off to the hosted login, the token endpoint's
// grants, discovery and the JWKS. Access and refresh tokens are Guichet's
// own (session.Service, the tokens of the JSON login API); the id_token is
// signed by the deployment's key set.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/keyring"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
)

// RequestTTL is how long an authorization request (and its code) lives:
// the sign-in, then the code's exchange.
const RequestTTL = 10 * time.Minute

// The authorization endpoint's limit: AuthorizeLimit requests per client
// (IP address, IPv6 /64) per AuthorizeWindow, unless Config says
// otherwise. Each request stores an authorization request; a sign-in
// takes one, an office behind one address many.
const (
	AuthorizeLimit  = 300
	AuthorizeWindow = 15 * time.Minute
)

// Config is the provider's settings.
type Config struct {
	// Issuer is PUBLIC_URL: the iss of every token, the base of every endpoint.
	Issuer  string
	Clients registry.Registry
	// IDTokenTTL is the lifetime of an id_token (the access token's).
	IDTokenTTL time.Duration
	// Cookie is the hosted pages' single sign-on cookie, which logout
	// ends.
	Cookie session.BrowserCookie
	// AuthorizeLimit is the most authorization requests of a client per
	// AuthorizeWindow (the package's AuthorizeLimit when 0).
	AuthorizeLimit int
}

// Provider is the OpenID Connect provider.
type Provider struct {
	cfg      Config
	store    *store.Store
	sessions *session.Service
	keys     keyring.Source
	tokens   *authorizer.Authorizer
	limit    *ratelimit.Requests
	now      func() time.Time
}

// New returns a provider; keys gives the key set that signs id_tokens at
// the time (the access tokens' source, so that both follow a rotation;
// nil or failing: the openid scope is refused, the provider serves plain
// OAuth); tokens resolves access tokens and API keys as the strict
// authorizer does.
func New(cfg Config, s *store.Store, sessions *session.Service, keys keyring.Source, tokens *authorizer.Authorizer, now func() time.Time) *Provider {
	n := cfg.AuthorizeLimit
	if n == 0 {
		n = AuthorizeLimit
	}
	return &Provider{cfg: cfg, store: s, sessions: sessions, keys: keys, tokens: tokens, now: now,
		limit: ratelimit.NewRequests(s, "authorize", n, AuthorizeWindow, now)}
}

// errNoKeys: the provider has no signing keys.
var errNoKeys = errors.New("oidc: no signing keys")

// keySet is the key set that signs now.
func (p *Provider) keySet(ctx context.Context) (signing.KeySet, error) {
	if p.keys == nil {
		return signing.KeySet{}, errNoKeys
	}
	ks, err := p.keys.KeySet(ctx)
	if err != nil {
		return signing.KeySet{}, fmt.Errorf("oidc: %w", err)
	}
	return ks, nil
}

// Request is what the hosted login shows of an authorization request.
type Request struct {
	ID         string
	ClientID   string
	ClientName string
	FirstParty bool
	Scopes     []string
	UILocales  string
	Prompt     string
	LoginHint  string
	MaxAge     int // seconds; 0 when not asked
}

// Signed is who signed in on the hosted login, every step done.
type Signed struct {
	Org, User, Person string
	// Session is the hosted pages' session (the OP's browser session).
	Session  string
	AuthTime time.Time
	// AMR are the methods used: "pwd", "otp".
	AMR []string
}

// ErrUnknownRequest: the authorization request is unknown, expired or
// already completed.
var ErrUnknownRequest = errors.New("oidc: unknown, expired or completed authorization request")

// AuthRequest returns the authorization request id for the hosted login.
func (p *Provider) AuthRequest(ctx context.Context, id string) (Request, error) {
	r, err := p.pending(ctx, id)
	if err != nil {
		return Request{}, err
	}
	c, _ := p.cfg.Clients.Find(r.Client)
	return Request{ID: r.ID, ClientID: c.ID, ClientName: c.Name, FirstParty: c.FirstParty, Scopes: r.Scopes,
		UILocales: r.UILocales, Prompt: r.Prompt, LoginHint: r.LoginHint, MaxAge: r.MaxAge}, nil
}

func (p *Provider) pending(ctx context.Context, id string) (store.AuthRequest, error) {
	if !validID(id) {
		return store.AuthRequest{}, ErrUnknownRequest
	}
	r, err := p.store.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrUnknownRequest
	}
	if err != nil {
		return r, fmt.Errorf("oidc: %w", err)
	}
	if r.Completed != 0 || r.Expires <= p.now().Unix() {
		return r, ErrUnknownRequest
	}
	if _, ok := p.cfg.Clients.Find(r.Client); !ok {
		return r, ErrUnknownRequest // the client was removed since
	}
	return r, nil
}

// Complete ends the hosted login of authorization request id: it records
// who signed in and returns the redirect to the client, with a fresh code
// and the request's state. It succeeds once per request.
func (p *Provider) Complete(ctx context.Context, id string, s Signed) (string, error) {
	r, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	if s.Org == "" || s.User == "" {
		return "", errors.New("oidc: complete: organization and user required")
	}
	code, hash, err := newCode(r.ID)
	if err != nil {
		return "", err
	}
	r.CodeHash = hash
	r.Org, r.User, r.Person, r.LoginSession, r.AuthTime, r.AMR = s.Org, s.User, s.Person, s.Session, s.AuthTime.Unix(), s.AMR
	return p.finish(ctx, r, url.Values{"code": {code}})
}

// finish records r completed, once, and returns the redirect to its
// client with q, the issuer and r's state.
func (p *Provider) finish(ctx context.Context, r store.AuthRequest, q url.Values) (string, error) {
	r.Completed = p.now().Unix()
	if err := p.store.CompleteAuthRequest(ctx, r); err != nil {
		if store.Lost(err, store.LinkUsed) {
			return "", ErrUnknownRequest
		}
		return "", fmt.Errorf("oidc: %w", err)
	}
	q.Set("iss", p.cfg.Issuer)
	if r.State != "" {
		q.Set("state", r.State)
	}
	return withQuery(r.RedirectURI, q), nil
}

// Refuse ends authorization request id without a sign-in and returns the
// redirect to the client with the error code (login_required for
// prompt=none without a browser session, access_denied) and the request's
// state. It succeeds once per request, as Complete.
func (p *Provider) Refuse(ctx context.Context, id, code, description string) (string, error) {
	r, err := p.pending(ctx, id)
	if err != nil {
		return "", err
	}
	return p.finish(ctx, r, url.Values{"error": {code}, "error_description": {description}})
}

// Limited reports whether the tokens client c gets for scopes carry only
// the permissions among scopes: always for a client that is not the
// deployment's own (it had the person's consent for those only), and for
// a first-party client that asked for permissions as scopes.
func Limited(c registry.Client, scopes []string) bool {
	if !c.FirstParty {
		return true
	}
	return slices.ContainsFunc(scopes, func(s string) bool { return !registry.IsProtocolScope(s) })
}

// codePrefix starts every authorization code: goc_<request id>.<secret>.
const codePrefix = "goc_"

// newCode returns a code of request id and its hash (the only form stored).
func newCode(id string) (code, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("oidc: random: %w", err)
	}
	code = codePrefix + id + "." + base64.RawURLEncoding.EncodeToString(b)
	return code, hashOf(code), nil
}

// codeRequest is the request id a code names; false when malformed.
func codeRequest(code string) (string, bool) {
	rest, ok := strings.CutPrefix(code, codePrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, ".")
	if !ok || !validID(id) || len(secret) != 43 {
		return "", false
	}
	return id, true
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// validID says whether id may be an authorization request's id (store.NewID("oar_")).
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, "oar_")
	return ok && len(rest) == 16 && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz234567") == ""
}

// s256 is the PKCE S256 challenge of verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validVerifier: 43 to 128 unreserved characters (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func withQuery(uri string, q url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + q.Encode()
}

func hasScope(scopes []string, s string) bool { return slices.Contains(scopes, s) }
