// Package authorizer resolves the credential of a request into a principal
// for API Gateway's Lambda authorizer (simple responses). On Guichet's own
// routes it never denies: it says who the caller is, or why nobody, and
// the function serving the route answers 401 as a problem when its route
// needs a principal (HTTP APIs cannot shape an authorizer's denial into
// problem+json). On the application's routes (APP_ROUTES) it decides:
// API Gateway answers a denial 403 before the application's code runs.
package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// Authorizer verifies credentials with one GetItem each: session access
// tokens (JWTs whose signature, issuer, audience and expiry it checks
// first, then the credential their jti names) and API keys (gky_).
type Authorizer struct {
	store *store.Store
	perms permission.Catalog
	log   *slog.Logger
	now   func() time.Time
	// app are the application's routes, by route key.
	app    map[string]route.AppRoute
	tokens Tokens
	keys   *Keys
}

// Tokens are what an access token must say: its issuer and one of its
// audiences.
type Tokens struct {
	Issuer, Audience string
}

// New returns an authorizer deciding on the application's routes app,
// accepting the access tokens tokens describes; a credential's
// permissions that perms no longer holds are inert: the principal does
// not get them.
func New(s *store.Store, perms permission.Catalog, log *slog.Logger, now func() time.Time, app []route.AppRoute, tokens Tokens) *Authorizer {
	a := &Authorizer{store: s, perms: perms, log: log, now: now, app: map[string]route.AppRoute{},
		tokens: tokens, keys: NewKeys(s, now)}
	for _, r := range app {
		a.app[r.Key()] = r
	}
	return a
}

// Warm reads the JWKS into the cache, at a function's init, so that its
// requests make one read each; a failure is logged and the first request
// tries again.
func (a *Authorizer) Warm(ctx context.Context) *Authorizer {
	if _, err := a.keys.Get(ctx); err != nil {
		a.log.ErrorContext(ctx, "authorizer: keys", "err", err)
	}
	return a
}

// Handle is the Lambda authorizer handler.
func (a *Authorizer) Handle(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	rt, isApp := a.app[e.RouteKey]
	if isApp && rt.IsFast() {
		// API Gateway's JWT authorizer verifies a fast route: this one is
		// not attached to it, and its answer would hide a misconfigured
		// stack. It denies without reading anything.
		a.log.WarnContext(ctx, "authorizer: invoked for a fast route", "route", e.RouteKey)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false, Context: principal.Anonymous("invalid_token")}, nil
	}
	p, reason, err := a.Resolve(ctx, header(e.Headers, "authorization"))
	if err != nil {
		a.log.ErrorContext(ctx, "authorizer: resolve", "err", err)
		if isApp && rt.Access != route.Public {
			// API Gateway answers 500: the application's route is
			// neither opened nor refused on a failure of the store.
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
		}
		// A store failure must not let anyone in, nor look like a bad
		// token: Guichet's function answers 503 for this reason.
		p, reason = nil, "unavailable"
	}
	if p != nil && isApp {
		// The application reads the units the principal reaches; Guichet's
		// functions read them themselves when they need them, so their
		// routes keep the one GetItem.
		if err := a.expand(ctx, p); err != nil {
			a.log.ErrorContext(ctx, "authorizer: expand units", "err", err)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
		}
	}
	var c principal.Context
	if p != nil {
		if c, err = p.Encode(); err != nil {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
		}
	} else {
		c = principal.Anonymous(reason)
	}
	allow := true
	if isApp {
		allow = admits(rt, p)
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: allow, Context: c}, nil
}

// expand sets p's expanded units (access.Units.Expanded: its list, its
// kinds' units and their descendants), at most access.MaxExpanded of them
// (then ExpandedTruncated): one Query of the organization's units, none
// for a principal with all units or none.
func (a *Authorizer) expand(ctx context.Context, p *principal.Principal) error {
	u := &p.Units
	if u.All || len(u.List) == 0 && len(u.Kinds) == 0 {
		return nil
	}
	ex, err := a.store.ExpandedUnits(ctx, p.Org, u.List, u.Kinds)
	if err != nil {
		return err
	}
	if len(ex) > access.MaxExpanded {
		ex, u.ExpandedTruncated = ex[:access.MaxExpanded], true
	}
	u.Expanded = ex
	return nil
}

// admits reports whether an application route admits principal p (nil:
// no valid credential).
func admits(rt route.AppRoute, p *principal.Principal) bool {
	switch rt.Access {
	case route.Public:
		return true
	case route.Authenticated:
		return p != nil
	case route.Permission:
		return p != nil && p.Can(permission.Permission(rt.Permission))
	}
	return false
}

// Resolve returns the principal of an Authorization header, or nil and
// why nobody (a problem code for the 401 answer).
func (a *Authorizer) Resolve(ctx context.Context, authorization string) (*principal.Principal, string, error) {
	if authorization == "" {
		return nil, "missing_token", nil
	}
	secret, ok := token.Bearer(authorization)
	if !ok {
		return nil, "invalid_token", nil
	}
	p, ok, err := a.Principal(ctx, secret, token.Access, token.APIKey)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "invalid_token", nil
	}
	return &p, "", nil
}

// Principal returns who a secret of one of kinds (session access tokens,
// API keys) names; ok is false when it names nobody: unknown, expired,
// revoked, forged, or of another kind. A session access token is a JWT
// (raw gsn_ tokens are no longer issued, and refused). The API's
// authorizer and the hosted pages' session cookie both resolve through it.
func (a *Authorizer) Principal(ctx context.Context, secret string, kinds ...token.Kind) (p principal.Principal, ok bool, err error) {
	var kind token.Kind
	var hash string
	if slices.Contains(kinds, token.Access) && strings.Count(secret, ".") == 2 {
		kind = token.Access
		if hash, ok, err = a.verify(ctx, secret); err != nil || !ok {
			return p, false, err
		}
	} else {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k token.Kind) bool { return k == token.Access })
		if len(kinds) == 0 {
			return p, false, nil
		}
		if kind, hash, ok = token.Parse(secret, kinds...); !ok {
			return p, false, nil
		}
	}
	// One GetItem decides: revoking a key or a session, and deactivating or
	// deleting a user, delete the credential item; a role change rewrites
	// it; expiry is checked here because TTL deletes late.
	cred, err := a.store.GetCredential(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	if !cred.Valid(a.now()) {
		return p, false, nil
	}
	p = principal.FromCredential(cred, a.perms)
	switch {
	case kind == token.Access && cred.Kind == store.AccessToken:
		p.Credential, p.CredentialID = principal.Session, cred.Session
	case kind == token.APIKey && cred.Kind == store.APIKey:
		// The key's hash and last use let the function serving the request
		// record its use, at most once a minute, without a read: this
		// function only reads.
		p.Credential, p.CredentialID = principal.APIKey, cred.KeyID
		p.KeyHash, p.LastUsed = hash, cred.LastUsed
	default:
		return principal.Principal{}, false, nil
	}
	return p, true, nil
}

// Skew is the clock difference between Guichet and a token's verifier
// that expiry and issue times allow.
const Skew = 30 * time.Second

// verify checks a JWT access token (signature by a key of the JWKS, type,
// issuer, audience, expiry) and returns the hash of its jti, which keys
// its credential.
func (a *Authorizer) verify(ctx context.Context, jwt string) (string, bool, error) {
	set, err := a.keys.Get(ctx)
	if err != nil {
		return "", false, err
	}
	payload, err := signing.Verify(set, jwt, signing.AccessToken)
	if errors.Is(err, signing.ErrKey) {
		// A key published since the cache was read (rotation), or a forged
		// kid: read the JWKS again, at most every keysRetry.
		set, again, rerr := a.keys.Refresh(ctx)
		if rerr != nil {
			return "", false, rerr
		}
		if again {
			payload, err = signing.Verify(set, jwt, signing.AccessToken)
		}
	}
	if err != nil {
		return "", false, nil
	}
	var c access.Claims
	if json.Unmarshal(payload, &c) != nil {
		return "", false, nil
	}
	now := a.now().Unix()
	skew := int64(Skew / time.Second)
	if c.Issuer != a.tokens.Issuer || !slices.Contains(c.Audience, a.tokens.Audience) ||
		c.Expiry+skew <= now || c.IssuedAt > now+skew || c.ID == "" {
		return "", false, nil
	}
	return token.Hash(c.ID), true, nil
}

// header finds a header by its lower-case name; API Gateway lower-cases
// header names in v2 events, but a hand-made event may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
