package users

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Role is a role as the API shows it.
type Role struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Permissions   []string `json:"permissions"`
	RequiresEmail bool     `json:"requires_email"`
	BuiltIn       bool     `json:"built_in"`
	// UserCount is the number of users holding the role.
	UserCount int `json:"user_count"`
}

// RoleList is the answer to GET /v1/roles.
type RoleList struct {
	Items []Role `json:"items"`
}

// RoleRequest is the body of POST /v1/roles and PATCH /v1/roles/{id}
// (where the fields present change).
type RoleRequest struct {
	Name          *string   `json:"name,omitempty"`
	Permissions   *[]string `json:"permissions,omitempty"`
	RequiresEmail *bool     `json:"requires_email,omitempty"`
}

var builtInNames = map[string]string{
	permission.RoleOwner: "Owner", permission.RoleAdmin: "Administrator", permission.RoleMember: "Member",
}

// Roles lists the built-in roles with their holder counts (one
// BatchGetItem) and the organization's custom roles (one Query).
func (s *Service) Roles(ctx context.Context, p principal.Principal) (RoleList, error) {
	out := RoleList{Items: []Role{}}
	builtIn := []string{permission.RoleOwner, permission.RoleAdmin, permission.RoleMember}
	counts, err := s.store.BuiltInRoleCounts(ctx, p.Org, builtIn)
	if err != nil {
		return out, err
	}
	for _, id := range builtIn {
		perms, _ := permission.BuiltIn(id)
		out.Items = append(out.Items, Role{ID: id, Name: builtInNames[id], Permissions: permission.Strings(perms),
			BuiltIn: true, UserCount: counts[id]})
	}
	custom, err := s.store.ListRoles(ctx, p.Org)
	if err != nil {
		return out, err
	}
	for _, r := range custom {
		out.Items = append(out.Items, roleView(r))
	}
	return out, nil
}

func roleView(r store.Role) Role {
	return Role{ID: r.ID, Name: r.Name, Permissions: r.Permissions, RequiresEmail: r.RequiresEmail, UserCount: r.Refs}
}

// checkRole validates a role's fields and that p may grant its permissions.
func checkRole(p principal.Principal, v *validate.Errors, r *store.Role, in RoleRequest) error {
	if in.Name != nil {
		if v.Name("name", *in.Name, 100) {
			if _, builtIn := builtInNames[strings.ToLower(strings.TrimSpace(*in.Name))]; builtIn {
				v.Add("name", "is the name of a built-in role")
			}
		}
		r.Name = strings.TrimSpace(*in.Name)
	}
	if in.Permissions != nil {
		perms := slices.Clone(*in.Permissions)
		slices.Sort(perms)
		perms = slices.Compact(perms)
		for _, x := range perms {
			if !permission.Valid(permission.Permission(x)) {
				v.Add("permissions", "%q is not a permission of the catalog", x)
			}
		}
		r.Permissions = perms
	}
	if in.RequiresEmail != nil {
		r.RequiresEmail = *in.RequiresEmail
	}
	if err := v.Err(); err != nil {
		return err
	}
	return grantable(p, r.Permissions)
}

// CreateRole adds a custom role.
func (s *Service) CreateRole(ctx context.Context, p principal.Principal, in RoleRequest) (Role, error) {
	var v validate.Errors
	if in.Name == nil {
		v.Add("name", "is required")
	}
	if in.Permissions == nil {
		in.Permissions = &[]string{}
	}
	now := s.now().UTC()
	r := store.Role{Org: p.Org, ID: store.NewID("rol_"), Created: now, Updated: now}
	if err := checkRole(p, &v, &r, in); err != nil {
		return Role{}, err
	}
	a := store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "role.create", Target: "role:" + r.ID, Fields: []string{"name", "permissions", "requires_email"}}
	if err := s.store.CreateRole(ctx, r, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Role{}, problem.Conflict("role_name_taken", "A role with this name already exists.")
		}
		return Role{}, err
	}
	return roleView(r), nil
}

func (s *Service) customRole(ctx context.Context, p principal.Principal, id string) (store.Role, error) {
	if _, builtIn := permission.BuiltIn(id); builtIn {
		return store.Role{}, problem.Conflict("built_in_role", "Built-in roles cannot be changed or deleted.")
	}
	r, err := s.store.GetRole(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, problem.NotFound("No such role.")
	}
	return r, err
}

// UpdateRole changes a custom role. Its holders get its new permissions on
// their user and their live credentials.
func (s *Service) UpdateRole(ctx context.Context, p principal.Principal, id string, in RoleRequest) (Role, error) {
	old, err := s.customRole(ctx, p, id)
	if err != nil {
		return Role{}, err
	}
	if err := grantable(p, old.Permissions); err != nil {
		return Role{}, err
	}
	r := old
	var v validate.Errors
	if err := checkRole(p, &v, &r, in); err != nil {
		return Role{}, err
	}
	var fields []string
	if r.Name != old.Name {
		fields = append(fields, "name")
	}
	permsChanged := !slices.Equal(r.Permissions, old.Permissions)
	if permsChanged {
		fields = append(fields, "permissions")
	}
	if r.RequiresEmail != old.RequiresEmail {
		fields = append(fields, "requires_email")
	}
	if len(fields) == 0 {
		return roleView(old), nil
	}
	holders, err := s.holders(ctx, p.Org, id)
	if err != nil {
		return Role{}, err
	}
	if r.RequiresEmail && !old.RequiresEmail {
		for _, u := range holders {
			if u.Email == "" {
				return Role{}, problem.Conflict("role_held_without_email",
					"A user without an e-mail holds this role; give them another role first.")
			}
		}
	}
	r.Updated = s.now().UTC()
	a := store.Audit{Org: p.Org, Time: r.Updated, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "role.update", Target: "role:" + r.ID, Fields: fields}
	if err := s.store.UpdateRole(ctx, old, r, a); err != nil {
		switch {
		case store.Lost(err, store.RoleChanged):
			return Role{}, problem.Conflict("conflict", "The role changed meanwhile; read it again and retry.")
		case store.Lost(err, store.RoleNameTaken):
			return Role{}, problem.Conflict("role_name_taken", "A role with this name already exists.")
		}
		return Role{}, err
	}
	if permsChanged {
		if err := s.propagate(ctx, p, r, holders); err != nil {
			return Role{}, err
		}
	}
	return roleView(r), nil
}

// holders returns every user holding a role.
func (s *Service) holders(ctx context.Context, org, role string) ([]store.User, error) {
	var out []store.User
	start := ""
	for {
		page, next, err := s.store.ListUsers(ctx, org, store.UserFilter{Role: role}, start, 100)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		start = next
	}
}

// propagate copies a role's new permissions to each holder and its live
// credentials, one user at a time (retrying the role's update finishes
// what an interrupted one left).
func (s *Service) propagate(ctx context.Context, p principal.Principal, r store.Role, holders []store.User) error {
	for _, u := range holders {
		if err := s.regrant(ctx, p, r, u); err != nil {
			return err
		}
	}
	return nil
}

// regrant gives one holder a role's permissions, rereading the user when a
// concurrent change of it wins.
func (s *Service) regrant(ctx context.Context, p principal.Principal, r store.Role, old store.User) error {
	for range 3 {
		u := old
		u.Permissions, u.Updated = r.Permissions, s.now().UTC()
		creds, _, err := s.store.UserCredentials(ctx, u.ID)
		if err != nil {
			return err
		}
		err = s.store.ChangeUser(ctx, store.UserChange{Old: old, New: &u, Grant: withPermissions(creds, u),
			Audit: auditOf(p, u.Updated, "user.permissions", u.ID, "permissions")})
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if old, err = s.store.GetUser(ctx, p.Org, old.ID); err != nil {
			return err
		}
		if old.Role != r.ID {
			return nil
		}
	}
	return conflictChanged()
}

// DeleteRole deletes a custom role nobody holds.
func (s *Service) DeleteRole(ctx context.Context, p principal.Principal, id string) error {
	r, err := s.customRole(ctx, p, id)
	if err != nil {
		return err
	}
	a := store.Audit{Org: p.Org, Time: s.now().UTC(), Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "role.delete", Target: "role:" + r.ID}
	if err := s.store.DeleteRole(ctx, r, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem.Conflict("role_in_use", "Users hold this role; give them another role first.")
		}
		return err
	}
	return nil
}
