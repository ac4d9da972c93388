// Package permission holds the permission catalog and the built-in roles.
package permission

import "slices"

// Permission names one thing a principal may do. Roles grant permissions;
// API keys carry a subset of them as scopes.
type Permission string

// The catalog. Every permission a role or a key may hold is listed here.
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

// Catalog returns every permission, in a stable order.
func Catalog() []Permission {
	return []Permission{UsersRead, UsersWrite, RolesWrite, InvitationsWrite,
		OrganizationRead, OrganizationWrite, APIKeysRead, AuditRead, UsersExport}
}

// Valid reports whether p is in the catalog.
func Valid(p Permission) bool { return slices.Contains(Catalog(), p) }

// Built-in role identifiers.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// BuiltIn returns the permissions of a built-in role and whether id names one.
// Owner and admin hold the whole catalog (ownership itself is not a
// permission: it is the role); member holds none beyond its own profile.
func BuiltIn(id string) ([]Permission, bool) {
	switch id {
	case RoleOwner, RoleAdmin:
		return Catalog(), true
	case RoleMember:
		return []Permission{}, true
	}
	return nil, false
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
