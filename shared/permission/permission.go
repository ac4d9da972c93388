// Package permission holds the permission catalog and the built-in roles.
package permission

import "slices"

// Permission names one thing a principal may do. Roles grant permissions;
// API keys carry a subset of them as scopes.
type Permission string

// Guichet's own permissions. A deployment adds the application's
// (Catalog).
const (
	UsersRead         Permission = "users:read"
	UsersWrite        Permission = "users:write"
	RolesWrite        Permission = "roles:write"
	InvitationsWrite  Permission = "invitations:write"
	OrganizationRead  Permission = "organization:read"
	OrganizationWrite Permission = "organization:write"
	APIKeysRead       Permission = "apikeys:read"
	AuditRead         Permission = "audit:read"
	// UsersExport allows exporting users with their password hashes.
	UsersExport Permission = "users:export"
)

// Guichet returns Guichet's own permissions, in a stable order.
func Guichet() []Permission {
	return []Permission{UsersRead, UsersWrite, RolesWrite, InvitationsWrite,
		OrganizationRead, OrganizationWrite, APIKeysRead, AuditRead, UsersExport}
}

// Built-in role identifiers.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// IsBuiltIn reports whether id names a built-in role.
func IsBuiltIn(id string) bool {
	return id == RoleOwner || id == RoleAdmin || id == RoleMember
}

// Has reports whether set contains p. The empty permission is always held:
// it marks routes open to any authenticated principal.
func Has(set []Permission, p Permission) bool {
	return p == "" || slices.Contains(set, p)
}

// Strings returns the permissions as strings, for storage.
func Strings(ps []Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// builtInNames are the built-in roles' names, by role and language.
var builtInNames = map[string]map[string]string{
	RoleOwner:  {"en": "Owner", "fr": "Propriétaire", "nl": "Eigenaar"},
	RoleAdmin:  {"en": "Administrator", "fr": "Administrateur", "nl": "Beheerder"},
	RoleMember: {"en": "Member", "fr": "Membre", "nl": "Lid"},
}

// BuiltInName returns the name of a built-in role in lang (English for a
// language it has no name in) and whether id names a built-in role.
func BuiltInName(id, lang string) (string, bool) {
	names, ok := builtInNames[id]
	if !ok {
		return "", false
	}
	if n, ok := names[lang]; ok {
		return n, true
	}
	return names["en"], true
}
