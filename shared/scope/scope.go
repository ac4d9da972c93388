// Package scope holds the reach of a caller whose role is limited to its
// holder's units (a custom role with own_units): the users and
// invitations it may read and change, and the units it may give.
//
// A user (or an invitation) lies within a caller's units when it has at
// least one unit and every one of them is among the caller's expanded
// units (its list, their descendants, the units of its kinds), every kind
// it has is one of the caller's, and it has not all units; a caller with
// all units reaches everyone. A caller always reaches itself.
package scope

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Scope is what a caller reaches. The zero Scope is unlimited.
type Scope struct {
	limited bool
	self    string
	all     bool
	kinds   []string
	units   map[string]bool
	reach   *store.Reach
}

// Of returns the scope of p: unlimited, without a read, for a built-in
// role; for a custom role one GetItem of the role and, when it is limited
// to its holder's units, one BatchGetItem of the caller and of the unit
// tree's version and one Query of the organization's units (none when the
// caller has all units).
func Of(ctx context.Context, st *store.Store, p principal.Principal) (Scope, error) {
	limited, err := Limited(ctx, st, p.Org, p.Role)
	if err != nil || !limited {
		return Scope{}, err
	}
	sc := Scope{limited: true, self: p.User, units: map[string]bool{}}
	me, tree, err := st.UserAndTree(ctx, p.Org, p.User)
	if errors.Is(err, store.ErrNotFound) {
		return sc, nil // gone meanwhile: it reaches no one
	}
	if err != nil {
		return sc, fmt.Errorf("scope: %w", err)
	}
	sc.all, sc.kinds = me.AllUnits, me.UnitKinds
	sc.reach = &store.Reach{Org: p.Org, User: p.User, Version: me.Version, Tree: tree}
	if sc.all {
		return sc, nil
	}
	expanded, err := st.ExpandedUnits(ctx, p.Org, me.Units, me.UnitKinds)
	if err != nil {
		return sc, fmt.Errorf("scope: %w", err)
	}
	for _, u := range expanded {
		sc.units[u] = true
	}
	return sc, nil
}

// Limited reports whether role (of org) is limited to its holder's units:
// never a built-in role; a custom role with own_units (one GetItem). A
// role that is gone counts as limited.
func Limited(ctx context.Context, st *store.Store, org, role string) (bool, error) {
	if role == "" {
		return false, nil
	}
	g, err := st.RoleGrant(ctx, permission.Catalog{}, org, role) // only OwnUnits is read: no catalog changes it
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("scope: role: %w", err)
	}
	return g.OwnUnits, nil
}

// Reach is what a limited scope was read from, for a change to be written
// only while it holds (store.UserChange.Reach); nil when unlimited.
func (s Scope) Reach() *store.Reach { return s.reach }

// Limited reports whether the scope is limited to the caller's units.
func (s Scope) Limited() bool { return s.limited }

// Reaches reports whether a user (or an invitation, id "") with units,
// all and kinds lies within the scope.
func (s Scope) Reaches(id string, units []string, all bool, kinds []string) bool {
	switch {
	case !s.limited, s.all, id != "" && id == s.self:
		return true
	case all, len(units) == 0 && len(kinds) == 0:
		return false
	}
	for _, k := range kinds {
		if !slices.Contains(s.kinds, k) {
			return false
		}
	}
	for _, u := range units {
		if !s.units[u] {
			return false
		}
	}
	return true
}

// User reports whether u lies within the scope.
func (s Scope) User(u store.User) bool { return s.Reaches(u.ID, u.Units, u.AllUnits, u.UnitKinds) }

// Within is the predicate of a user listing: nil when the scope is
// unlimited.
func (s Scope) Within() func(store.User) bool {
	if !s.limited || s.all {
		return nil
	}
	return s.User
}

// Gives refuses (403 outside_units) units that a user (target; "" for a
// new user or an invitation) would get beyond the scope: all units
// without them, a kind the caller lacks, a unit outside the caller's, or
// no unit at all for anyone but the caller itself, who could then not be
// administered.
func (s Scope) Gives(target string, units []string, all bool, kinds []string) error {
	if !s.limited || s.all {
		return nil
	}
	if target != "" && target == s.self && !all && len(units) == 0 && len(kinds) == 0 {
		return nil
	}
	if s.Reaches("", units, all, kinds) {
		return nil
	}
	switch {
	case all:
		return outside("all_units: you do not have all units")
	case len(units) == 0 && len(kinds) == 0:
		return outside("the user needs at least one of your units, or you could not administer it")
	}
	for _, k := range kinds {
		if !slices.Contains(s.kinds, k) {
			return outside(fmt.Sprintf("unit_kinds: you do not have the units of kind %q", k))
		}
	}
	for _, u := range units {
		if !s.units[u] {
			return outside(fmt.Sprintf("units: %s is not within your units", u))
		}
	}
	return nil
}

func outside(why string) *problem.Problem {
	return problem.New(http.StatusForbidden, "outside_units",
		"Your role acts only within your units; you cannot give units beyond them ("+why+").")
}

// UsersPermissions reports whether perms hold users:read or users:write,
// the permissions a unit limit narrows.
func UsersPermissions(perms []string) bool {
	return slices.Contains(perms, string(permission.UsersRead)) || slices.Contains(perms, string(permission.UsersWrite))
}

// GivesRole refuses (403 unit_limited_role) to let a limited caller give,
// create or change a role that would administer users beyond its holder's
// units: one holding users:read or users:write without own_units. Any
// other role is within the scope.
func (s Scope) GivesRole(perms []string, ownUnits bool) error {
	if !s.limited || s.all || ownUnits || !UsersPermissions(perms) {
		return nil
	}
	return problem.New(http.StatusForbidden, "unit_limited_role",
		"Your role acts only within your units: a role you give, create or change must be limited to its holder's units (own_units) when it holds users:read or users:write.")
}

// ActsOn refuses (403 unit_limited_role) to let a limited caller change a
// user within its units who holds users:read or users:write through a
// role that is not limited (one GetItem of a custom role): that user
// administers beyond the caller's units.
func (s Scope) ActsOn(ctx context.Context, st *store.Store, u store.User) error {
	if !s.limited || s.all || u.ID == s.self || !UsersPermissions(u.Permissions) {
		return nil
	}
	limited, err := Limited(ctx, st, u.Org, u.Role)
	if err != nil {
		return err
	}
	if limited {
		return nil
	}
	return problem.New(http.StatusForbidden, "unit_limited_role",
		"Your role acts only within your units; this user's role administers users beyond them.")
}
