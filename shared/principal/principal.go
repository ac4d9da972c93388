// Package principal describes who is calling: the identity the authorizer
// resolved from a credential, passed to functions as authorizer context.
package principal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Credential kinds a principal may present.
const (
	Session = "session"
	APIKey  = "apikey"
)

// Principal is an authenticated caller: access.Principal, the public shape
// the authorizer's context carries, as Guichet's functions use it (flat,
// with typed permissions), plus what only Guichet's functions need (the
// key's hash and last use, a session's OpenID Connect client and scopes).
// Access and FromAccess convert between the two; nothing else is encoded.
type Principal struct {
	Org     string
	OrgCode string
	User    string
	// Person is the person's id across organizations (see access.Principal).
	Person string
	// Kind is the user's kind: "person" or "service".
	Kind string
	Role string
	// RoleName is the role's name when known (empty: GET /v1/me looks it up).
	RoleName string
	// Permissions the request may use: the role's permissions for a session,
	// the key's scopes for an API key.
	Permissions []permission.Permission
	// Units and DefaultUnit are the user's, as of the credential's issue.
	Units       access.Units
	DefaultUnit string
	// Credential is Session or APIKey.
	Credential string
	// CredentialID is the session id or the key id.
	CredentialID string
	// Client is the client application of an API key or a service user.
	Client string
	// Scopes are an API key's scopes as created.
	Scopes []string
	// Expires is the credential's expiry (epoch seconds; 0: never).
	Expires int64
	// KeyHash is, for an API key, the SHA-256 its credential item is keyed
	// by, so that a function records the key's use without a read. It is
	// not a secret: nothing authenticates with it.
	KeyHash string
	// LastUsed is, for an API key, when its use was last recorded (epoch
	// seconds; 0: never).
	LastUsed int64
	// OIDCClient is, for a session's access token, the OpenID Connect
	// client it was issued to, and OIDCScopes the scopes granted it
	// (store.Credential); empty for the JSON login API's.
	OIDCClient string
	OIDCScopes []string
}

// Access returns p in the public shape.
func (p Principal) Access() access.Principal {
	perms := make([]string, len(p.Permissions))
	for i, x := range p.Permissions {
		perms[i] = string(x)
	}
	return access.Principal{
		Version:      access.Version,
		Organization: access.Organization{ID: p.Org, Code: p.OrgCode},
		User:         p.User, Person: p.Person, Kind: p.Kind,
		Role:        access.Role{ID: p.Role, Name: p.RoleName},
		Permissions: perms, Units: p.Units, DefaultUnit: p.DefaultUnit,
		Credential: access.Credential{Kind: p.Credential, ID: p.CredentialID, Client: p.Client,
			Scopes: p.Scopes, Expires: p.Expires},
	}
}

// FromAccess returns the principal a in the functions' shape; the fields
// only Guichet's functions use (KeyHash, LastUsed, OIDCClient,
// OIDCScopes) are left empty.
func FromAccess(a access.Principal) Principal {
	perms := make([]permission.Permission, len(a.Permissions))
	for i, x := range a.Permissions {
		perms[i] = permission.Permission(x)
	}
	return Principal{
		Org: a.Organization.ID, OrgCode: a.Organization.Code, User: a.User, Person: a.Person,
		Kind: a.Kind, Role: a.Role.ID, RoleName: a.Role.Name, Permissions: perms,
		Units: a.Units, DefaultUnit: a.DefaultUnit,
		Credential: a.Credential.Kind, CredentialID: a.Credential.ID, Client: a.Credential.Client,
		Scopes: a.Credential.Scopes, Expires: a.Credential.Expires,
	}
}

// Can reports whether the principal holds p.
func (p Principal) Can(perm permission.Permission) bool {
	return permission.Has(p.Permissions, perm)
}

// ActOn is the rule of every route that acts on another user's account or
// credentials (reset links, passwords, letters, two-step verification,
// keys, sessions, exported hashes): the caller may act only on a user
// whose role it could assign. The owner is refused to anyone else (409
// owner_protected), and so is a holder of a permission the caller lacks
// (403 permission_escalation).
func (p Principal) ActOn(user, role string, perms []string) error {
	if p.MayActOn(user, role, perms) {
		return nil
	}
	if role == permission.RoleOwner {
		return problem.Conflict("owner_protected", "The owner's account and credentials are the owner's alone.")
	}
	for _, x := range perms {
		if !p.Can(permission.Permission(x)) {
			return problem.New(http.StatusForbidden, "permission_escalation",
				fmt.Sprintf("You cannot act on a user holding the %q permission: you do not hold it.", x))
		}
	}
	return nil
}

// MayActOn reports whether ActOn lets p act on the user.
func (p Principal) MayActOn(user, role string, perms []string) bool {
	if user == p.User || p.Role == permission.RoleOwner {
		return true // the owner holds every permission: it may assign any role
	}
	if role == permission.RoleOwner {
		return false
	}
	for _, x := range perms {
		if !p.Can(permission.Permission(x)) {
			return false
		}
	}
	return true
}

// Context is the authorizer context API Gateway passes from the authorizer
// to functions. Values are strings: API Gateway flattens anything else.
type Context map[string]any

// Keys of the authorizer context. access.ContextKey holds the principal,
// as JSON of access.Principal: the documented shape, which applications
// read too. The others are Guichet's own.
const (
	keyAuthenticated = "authenticated"
	keyReason        = "reason"
	keyKeyHash       = "key_hash"
	keyLastUsed      = "last_used"
)

// Encode returns the authorizer context of an authenticated principal.
func (p Principal) Encode() (Context, error) {
	b, err := json.Marshal(p.Access())
	if err != nil {
		return nil, fmt.Errorf("principal: encode: %w", err)
	}
	c := Context{keyAuthenticated: "true", access.ContextKey: string(b)}
	if p.Credential == APIKey {
		c[keyKeyHash] = p.KeyHash
		c[keyLastUsed] = strconv.FormatInt(p.LastUsed, 10)
	}
	return c, nil
}

// Anonymous returns the authorizer context of a request without a valid
// credential; reason is a problem code for the 401 answer.
func Anonymous(reason string) Context {
	return Context{keyAuthenticated: "false", keyReason: reason}
}

// Decode reads a principal from an authorizer context. It returns false and
// the reason when the request is not authenticated.
func Decode(c map[string]any) (Principal, string, bool) {
	get := func(k string) string {
		s, _ := c[k].(string)
		return s
	}
	var a access.Principal
	if get(keyAuthenticated) != "true" || json.Unmarshal([]byte(get(access.ContextKey)), &a) != nil ||
		a.Version != access.Version || a.Organization.ID == "" || a.User == "" {
		reason := get(keyReason)
		if reason == "" {
			reason = "missing_token"
		}
		return Principal{}, reason, false
	}
	p := FromAccess(a)
	p.KeyHash = get(keyKeyHash)
	p.LastUsed, _ = strconv.ParseInt(get(keyLastUsed), 10, 64)
	return p, "", true
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal carried by ctx. Handlers of authorized routes
// always have one: the function adapter refuses the request otherwise.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Subject is the OpenID Connect sub of p: its person, or its user for
// username (PIN) and service users (as store.User.Subject).
func (p Principal) Subject() string {
	if p.Person != "" {
		return p.Person
	}
	return p.User
}

// FromCredential returns the principal an access token's or API key's
// credential item carries, with the permissions perms still holds (one
// it no longer holds is inert). The authorizer resolves requests with it
// and session issuance puts it in the JWT: one builder for both. The
// credential's kind (Session or APIKey) is left to the caller.
func FromCredential(c store.Credential, perms permission.Catalog) Principal {
	valid := []permission.Permission{}
	for _, x := range c.Permissions {
		if perms.Valid(permission.Permission(x)) {
			valid = append(valid, permission.Permission(x))
		}
	}
	p := Principal{Org: c.Org, OrgCode: c.OrgCode, User: c.User, Person: c.Person, Kind: c.UserKind,
		Role: c.Role, Permissions: valid, Client: c.Client, Scopes: c.Scopes,
		Units:       access.Units{All: c.AllUnits, Kinds: c.UnitKinds, List: c.Units},
		DefaultUnit: c.DefaultUnit, Expires: c.Expires, OIDCClient: c.OIDCClient, OIDCScopes: c.OIDCScopes}
	if p.Expires == store.NoExpiry {
		p.Expires = 0
	}
	return p
}
