package users

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Role is a role as the API shows it.
type Role struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Permissions   []string `json:"permissions"`
	RequiresEmail bool     `json:"requires_email"`
	OwnUnits      bool     `json:"own_units" doc:"users:read and users:write act only on users within the holder's units (never a built-in role)."`
	BuiltIn       bool     `json:"built_in"`
	// UserCount is the number of users holding the role.
	UserCount int `json:"user_count"`
	// Version and Regrant are a custom role's: see UpdateRole.
	Version int    `json:"version,omitempty" doc:"A custom role's version: it counts the changes of its permissions."`
	Regrant string `json:"regrant,omitempty" enum:"done|pending" doc:"A custom role's: pending while its holders' existing sessions and API keys are being given its current permissions in the background (new sessions have them at once); done once every holder has them. Any PATCH of the role resumes an interrupted regrant."`

	// UnknownPermissions are those of Permissions the catalog no longer
	// holds: inert, they grant nothing.
	UnknownPermissions []string `json:"unknown_permissions,omitempty" doc:"Permissions of the role that the deployment's catalog no longer holds: inert, they grant nothing. A PATCH may keep them, not add them."`
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
	OwnUnits      *bool     `json:"own_units,omitempty" doc:"Limit users:read and users:write to users within the holder's units."`
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
		perms, _ := s.perms.BuiltIn(id)
		out.Items = append(out.Items, Role{ID: id, Name: builtInNames[id], Permissions: permission.Strings(perms),
			BuiltIn: true, UserCount: counts[id]})
	}
	custom, err := s.store.ListRoles(ctx, p.Org)
	if err != nil {
		return out, err
	}
	for _, r := range custom {
		out.Items = append(out.Items, s.roleView(r))
	}
	return out, nil
}

func (s *Service) roleView(r store.Role) Role {
	perms := []string(r.Permissions)
	if perms == nil {
		perms = []string{}
	}
	v := Role{ID: r.ID, Name: r.Name, Permissions: perms, RequiresEmail: r.RequiresEmail, OwnUnits: r.OwnUnits, UserCount: r.Refs,
		Version: max(r.Version, 1), Regrant: "done", UnknownPermissions: s.perms.Unknown(perms)}
	if r.Granted < r.Version {
		v.Regrant = "pending"
	}
	return v
}

// checkRole validates a role's fields and that p, of scope sc, may grant
// its permissions. A permission the catalog no longer holds may stay on a
// role that has it (inert), never be added.
func (s *Service) checkRole(p principal.Principal, sc scope.Scope, v *validate.Errors, r *store.Role, in RoleRequest) error {
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
			if !s.perms.Valid(permission.Permission(x)) && !slices.Contains(r.Permissions, x) {
				v.Add("permissions", "%q is not a permission of the catalog", x)
			}
		}
		r.Permissions = perms
	}
	if in.RequiresEmail != nil {
		r.RequiresEmail = *in.RequiresEmail
	}
	if in.OwnUnits != nil {
		r.OwnUnits = *in.OwnUnits
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := sc.GivesRole(r.Permissions, r.OwnUnits); err != nil {
		return err
	}
	return s.grantable(p, r.Permissions)
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
	r := store.Role{Org: p.Org, ID: store.NewID("rol_"), Created: now, Updated: now, Version: 1, Granted: 1}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return Role{}, err
	}
	if err := s.checkRole(p, sc, &v, &r, in); err != nil {
		return Role{}, err
	}
	a := store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "role.create", Target: "role:" + r.ID, Fields: []string{"name", "permissions", "requires_email", "own_units"}}
	if err := s.store.CreateRole(ctx, r, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Role{}, problem.Conflict("role_name_taken", "A role with this name already exists.")
		}
		return Role{}, err
	}
	return s.roleView(r), nil
}

func (s *Service) customRole(ctx context.Context, p principal.Principal, id string) (store.Role, error) {
	if permission.IsBuiltIn(id) {
		return store.Role{}, problem.Conflict("built_in_role", "Built-in roles cannot be changed or deleted.")
	}
	r, err := s.store.GetRole(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, problem.NotFound("No such role.")
	}
	return r, err
}

// UpdateRole changes a custom role. A change of its permissions bumps its
// version and leaves, in the same transaction, a "regrant" job that gives
// them to its holders and their live credentials in the background
// (RegrantBatch); sessions opened meanwhile read them from the role. Any
// PATCH, even one changing nothing, arms again a regrant an interruption
// left unfinished; the answer's regrant says whether one is pending.
func (s *Service) UpdateRole(ctx context.Context, p principal.Principal, id string, in RoleRequest) (Role, error) {
	old, err := s.customRole(ctx, p, id)
	if err != nil {
		return Role{}, err
	}
	if err := s.grantable(p, old.Permissions); err != nil {
		return Role{}, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return Role{}, err
	}
	if err := sc.GivesRole(old.Permissions, old.OwnUnits); err != nil {
		return Role{}, err
	}
	r := old
	var v validate.Errors
	if err := s.checkRole(p, sc, &v, &r, in); err != nil {
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
	if r.OwnUnits != old.OwnUnits {
		fields = append(fields, "own_units")
	}
	now := s.now().UTC()
	left := old.Granted < old.Version
	if len(fields) == 0 {
		if left {
			if err := s.rearm(ctx, old, now); err != nil {
				return Role{}, err
			}
		}
		return s.roleView(old), nil
	}
	if r.RequiresEmail && !old.RequiresEmail {
		n, err := s.withoutEmail(ctx, p.Org, id)
		if err != nil {
			return Role{}, err
		}
		if n > 0 {
			pr := problem.Conflict("role_held_without_email", fmt.Sprintf(
				"%d users without an e-mail address hold this role; give them another role first.", n))
			pr.Count = &n
			return Role{}, pr
		}
	}
	r.Updated = now
	var job *store.Job
	switch {
	case permsChanged:
		r.Version = old.Version + 1
		j := store.NewJob(store.RegrantJob, p.Org, id, r.Version, now)
		job = &j
	case left:
		j, err := s.leftJob(ctx, old, now)
		if err != nil {
			return Role{}, err
		}
		job = &j
	}
	a := store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "role.update", Target: "role:" + r.ID, Fields: fields}
	if err := s.store.UpdateRole(ctx, old, r, a, job); err != nil {
		switch {
		case store.Lost(err, store.RoleChanged):
			return Role{}, problem.Conflict("conflict", "The role changed meanwhile; read it again and retry.")
		case store.Lost(err, store.RoleNameTaken):
			return Role{}, problem.Conflict("role_name_taken", "A role with this name already exists.")
		}
		return Role{}, err
	}
	return s.roleView(r), nil
}

// withoutEmail counts the holders of a role who have no e-mail address:
// a page of 100 holders per Query (50 Queries at 5,000 holders).
func (s *Service) withoutEmail(ctx context.Context, org, role string) (int, error) {
	n, start := 0, ""
	for {
		page, next, err := s.store.ListUsers(ctx, org, store.UserFilter{Role: role}, start, regrantBatch)
		if err != nil {
			return 0, err
		}
		for _, u := range page {
			if u.Email == "" {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		start = next
	}
}

// leftJob is the regrant job of a role left unfinished, to write again:
// the job as it was left (from its cursor) when it is of the role's
// version, a job from the start otherwise (it finished its last batch but
// not the granted version, or was lost).
func (s *Service) leftJob(ctx context.Context, r store.Role, now time.Time) (store.Job, error) {
	j, err := s.store.GetJob(ctx, store.RegrantJob, r.Org, r.ID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && j.Version != r.Version):
		return store.NewJob(store.RegrantJob, r.Org, r.ID, r.Version, now), nil
	case err != nil:
		return store.Job{}, err
	}
	j.Updated = now.UTC()
	return j, nil
}

// rearm writes again the regrant a role's interrupted change left.
func (s *Service) rearm(ctx context.Context, r store.Role, now time.Time) error {
	j, err := s.leftJob(ctx, r, now)
	if err != nil {
		return err
	}
	err = s.store.RearmRegrant(ctx, r, j)
	if store.Lost(err, store.RoleChanged) {
		return problem.Conflict("conflict", "The role changed meanwhile; read it again and retry.")
	}
	return err
}

// regrantBatch is how many holders a batch of a regrant reads (one page of
// the role's holders), and regrantReaders how many of their credential
// Queries run at once.
const (
	regrantBatch   = 100
	regrantReaders = 8
)

// RegrantBatch is the handler of "regrant" jobs: it gives one page of a
// role's holders (from the job's cursor) the role's permissions, on
// their user and their live access tokens and API keys. The batch is
// idempotent (what has the permissions already is not written again) and
// stops when a newer change of the role supersedes it. After the last
// page it records the role as granted at its version.
func (s *Service) RegrantBatch(ctx context.Context, j store.Job) (cursor string, done bool, err error) {
	r, err := s.store.GetRole(ctx, j.Org, j.Target)
	if errors.Is(err, store.ErrNotFound) {
		return "", true, nil
	}
	if err != nil {
		return "", false, err
	}
	if r.Version != j.Version {
		return "", true, nil // a newer change left its own job
	}
	page, next, err := s.store.ListUsers(ctx, j.Org, store.UserFilter{Role: r.ID}, j.Cursor, regrantBatch)
	if err != nil {
		return "", false, err
	}
	holders, err := s.withCredentials(ctx, r, page)
	if err != nil {
		return "", false, err
	}
	now := s.now()
	_, err = s.store.RegrantHolders(ctx, r, holders, now)
	if errors.Is(err, store.ErrConflict) && !store.Lost(err, store.RoleChanged) {
		// A holder or credential changed since the page was read: each
		// holder again, from a fresh read.
		for _, h := range holders {
			if err = s.regrantHolder(ctx, r, h.User.ID); err != nil {
				break
			}
		}
	}
	switch {
	case store.Lost(err, store.RoleChanged):
		return "", true, nil // changed meanwhile: the newer job takes over
	case err != nil:
		return "", false, err
	case next != "":
		return next, false, nil
	}
	return "", true, s.store.SetGranted(ctx, r.Org, r.ID, r.Version)
}

// withCredentials reads the credentials of each user holding r (one gsi1
// Query each, regrantReaders at a time), with the permissions r gives it:
// a service user's within its client application's scopes.
func (s *Service) withCredentials(ctx context.Context, r store.Role, users []store.User) ([]store.Holder, error) {
	out := make([]store.Holder, len(users))
	errs := make([]error, len(users))
	sem := make(chan struct{}, regrantReaders)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			creds, _, err := s.store.UserCredentials(ctx, u.ID)
			out[i], errs[i] = store.Holder{User: u, Creds: creds, Perms: store.GrantOf(s.perms, r).For(u, s.clients)}, err
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// regrantHolder gives one holder a role's permissions from a fresh read
// of it, reading it again when a concurrent change of it wins.
func (s *Service) regrantHolder(ctx context.Context, r store.Role, user string) error {
	for range 3 {
		u, err := s.store.GetUser(ctx, r.Org, user)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if u.Role != r.ID {
			return nil
		}
		hs, err := s.withCredentials(ctx, r, []store.User{u})
		if err != nil {
			return err
		}
		_, err = s.store.RegrantHolders(ctx, r, hs, s.now())
		if !errors.Is(err, store.ErrConflict) || store.Lost(err, store.RoleChanged) {
			return err
		}
	}
	return fmt.Errorf("regrant %s: %w", user, store.ErrUnavailable)
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
