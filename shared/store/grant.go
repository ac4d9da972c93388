package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/permission"
)

// Grant is what a role gives its holders: a built-in role's permissions,
// or a custom role's as stored, with the version they were read at.
type Grant struct {
	Role        string
	BuiltIn     bool
	Permissions []string
	// Name is a custom role's name; a built-in role's depends on the
	// language (permission.BuiltInName).
	Name          string
	RequiresEmail bool
	// OwnUnits is a custom role's limit to its holder's units.
	OwnUnits bool
	// Version is a custom role's (0 for a built-in role): a credential
	// written with Permissions carries it (see roleAt).
	Version int
}

// RoleGrant resolves role of org: a built-in role's permissions, or the
// custom role's as stored (one consistent GetItem), never a holder's copy,
// which the role's regrant may not have reached yet, without the
// permissions catalog perms no longer holds (they are inert). It returns
// ErrNotFound when org has no such role.
func (s *Store) RoleGrant(ctx context.Context, perms permission.Catalog, org, role string) (Grant, error) {
	if g, ok := builtInGrant(perms, role); ok {
		return g, nil
	}
	if role == "" {
		return Grant{}, fmt.Errorf("role grant: no role: %w", ErrNotFound)
	}
	r, err := s.GetRole(ctx, org, role)
	if err != nil {
		return Grant{}, fmt.Errorf("role grant: %w", err)
	}
	return GrantOf(perms, r), nil
}

// GrantFrom resolves role from custom roles already read (by id), as
// RoleGrant does; ok is false when it is neither built in nor among them.
func GrantFrom(perms permission.Catalog, role string, roles map[string]Role) (g Grant, ok bool) {
	if g, ok := builtInGrant(perms, role); ok {
		return g, true
	}
	r, ok := roles[role]
	if !ok {
		return Grant{}, false
	}
	return GrantOf(perms, r), true
}

// GrantOf is what custom role r gives: its permissions that catalog
// perms holds.
func GrantOf(perms permission.Catalog, r Role) Grant {
	return Grant{Role: r.ID, Permissions: perms.Known(r.Permissions), Name: r.Name, RequiresEmail: r.RequiresEmail, OwnUnits: r.OwnUnits, Version: r.Version}
}

func builtInGrant(perms permission.Catalog, role string) (Grant, bool) {
	bp, ok := perms.BuiltIn(role)
	if !ok {
		return Grant{}, false
	}
	return Grant{Role: role, BuiltIn: true, Permissions: permission.Strings(bp)}, true
}

// For returns the permissions g gives u, a copy of its own: a service
// user's within the scopes of its client application (clients.Catalog.Cap).
func (g Grant) For(u User, c clients.Catalog) []string {
	if u.Kind == Service {
		return c.Cap(u.Client, g.Permissions)
	}
	return slices.Clone(g.Permissions)
}
