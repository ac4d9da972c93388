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
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// Authorizer verifies credentials (session access tokens gsn_, API keys
// gky_) with one GetItem each.
type Authorizer struct {
	store *store.Store
	perms permission.Catalog
	log   *slog.Logger
	now   func() time.Time
	// app are the application's routes, by route key.
	app map[string]route.AppRoute
}

// New returns an authorizer deciding on the application's routes app; a
// credential's permissions that perms no longer holds are inert: the
// principal does not get them.
func New(s *store.Store, perms permission.Catalog, log *slog.Logger, now func() time.Time, app []route.AppRoute) *Authorizer {
	a := &Authorizer{store: s, perms: perms, log: log, now: now, app: map[string]route.AppRoute{}}
	for _, r := range app {
		a.app[r.Key()] = r
	}
	return a
}

// Handle is the Lambda authorizer handler.
func (a *Authorizer) Handle(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	p, reason, err := a.Resolve(ctx, header(e.Headers, "authorization"))
	rt, isApp := a.app[e.RouteKey]
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
// revoked, or of another kind. The API's authorizer and the hosted pages'
// session cookie both resolve through it.
func (a *Authorizer) Principal(ctx context.Context, secret string, kinds ...token.Kind) (p principal.Principal, ok bool, err error) {
	kind, hash, ok := token.Parse(secret, kinds...)
	if !ok {
		return p, false, nil
	}
	// One GetItem decides: revoking a key or a session, and deactivating or
	// deleting a user, delete the credential item; expiry is checked here
	// because TTL deletes late.
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
	perms := []permission.Permission{}
	for _, x := range cred.Permissions {
		if a.perms.Valid(permission.Permission(x)) {
			perms = append(perms, permission.Permission(x))
		}
	}
	p = principal.Principal{Org: cred.Org, OrgCode: cred.OrgCode, User: cred.User, Kind: cred.UserKind,
		Role: cred.Role, Permissions: perms, Client: cred.Client, Scopes: cred.Scopes,
		Units:       access.Units{All: cred.AllUnits, Kinds: cred.UnitKinds, List: cred.Units},
		DefaultUnit: cred.DefaultUnit, Expires: cred.Expires}
	if p.Expires == store.NoExpiry {
		p.Expires = 0
	}
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
