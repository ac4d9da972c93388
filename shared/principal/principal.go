// Package principal describes who is calling: the identity the authorizer
// resolved from a credential, passed to functions as authorizer context.
package principal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
)

// Credential kinds a principal may present.
const (
	Session = "session"
	APIKey  = "apikey"
)

// Principal is an authenticated caller.
type Principal struct {
	Org  string
	User string
	// Kind is the user's kind: "person" or "service".
	Kind string
	Role string
	// Permissions the request may use: the role's permissions for a session,
	// the key's scopes for an API key.
	Permissions []permission.Permission
	// Credential is Session or APIKey.
	Credential string
	// CredentialID is the session id or the key id.
	CredentialID string
	// KeyHash is, for an API key, the SHA-256 its credential item is keyed
	// by, so that a function records the key's use without a read. It is
	// not a secret: nothing authenticates with it.
	KeyHash string
	// LastUsed is, for an API key, when its use was last recorded (epoch
	// seconds; 0: never).
	LastUsed int64
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

// Keys of the authorizer context.
const (
	keyAuthenticated = "authenticated"
	keyReason        = "reason"
	keyOrg           = "org"
	keyUser          = "user"
	keyKind          = "kind"
	keyRole          = "role"
	keyPermissions   = "permissions"
	keyCredential    = "credential"
	keyCredentialID  = "credential_id"
	keyKeyHash       = "key_hash"
	keyLastUsed      = "last_used"
)

// Encode returns the authorizer context of an authenticated principal.
func (p Principal) Encode() Context {
	perms := make([]string, len(p.Permissions))
	for i, x := range p.Permissions {
		perms[i] = string(x)
	}
	c := Context{
		keyAuthenticated: "true",
		keyOrg:           p.Org,
		keyUser:          p.User,
		keyKind:          p.Kind,
		keyRole:          p.Role,
		keyPermissions:   strings.Join(perms, " "),
		keyCredential:    p.Credential,
		keyCredentialID:  p.CredentialID,
	}
	if p.Credential == APIKey {
		c[keyKeyHash] = p.KeyHash
		c[keyLastUsed] = strconv.FormatInt(p.LastUsed, 10)
	}
	return c
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
	if get(keyAuthenticated) != "true" || get(keyOrg) == "" || get(keyUser) == "" {
		reason := get(keyReason)
		if reason == "" {
			reason = "missing_token"
		}
		return Principal{}, reason, false
	}
	var perms []permission.Permission
	for _, s := range strings.Fields(get(keyPermissions)) {
		perms = append(perms, permission.Permission(s))
	}
	lastUsed, _ := strconv.ParseInt(get(keyLastUsed), 10, 64)
	return Principal{
		Org:          get(keyOrg),
		User:         get(keyUser),
		Kind:         get(keyKind),
		Role:         get(keyRole),
		Permissions:  perms,
		Credential:   get(keyCredential),
		CredentialID: get(keyCredentialID),
		KeyHash:      get(keyKeyHash),
		LastUsed:     lastUsed,
	}, "", true
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
