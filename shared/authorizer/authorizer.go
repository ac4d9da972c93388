// Package authorizer resolves the credential of a request into a principal
// for API Gateway's Lambda authorizer (simple responses). It never denies:
// it says who the caller is, or why nobody, and the function serving the
// route answers 401 as a problem when its route needs a principal (HTTP
// APIs cannot shape an authorizer's denial into problem+json).
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
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
}

// New returns an authorizer; a credential's permissions that perms no
// longer holds are inert: the principal does not get them.
func New(s *store.Store, perms permission.Catalog, log *slog.Logger, now func() time.Time) *Authorizer {
	return &Authorizer{store: s, perms: perms, log: log, now: now}
}

// Handle is the Lambda authorizer handler.
func (a *Authorizer) Handle(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	c, err := a.Resolve(ctx, header(e.Headers, "authorization"))
	if err != nil {
		// A store failure must not let anyone in, nor look like a bad
		// token: the function answers 503 for this reason.
		a.log.ErrorContext(ctx, "authorizer: resolve", "err", err)
		c = principal.Anonymous("unavailable")
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: c}, nil
}

// Resolve returns the authorizer context for an Authorization header.
func (a *Authorizer) Resolve(ctx context.Context, authorization string) (principal.Context, error) {
	if authorization == "" {
		return principal.Anonymous("missing_token"), nil
	}
	secret, ok := token.Bearer(authorization)
	if !ok {
		return principal.Anonymous("invalid_token"), nil
	}
	p, ok, err := a.Principal(ctx, secret, token.Access, token.APIKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		return principal.Anonymous("invalid_token"), nil
	}
	return p.Encode(), nil
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
	p = principal.Principal{Org: cred.Org, User: cred.User, Kind: cred.UserKind, Role: cred.Role, Permissions: perms}
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
