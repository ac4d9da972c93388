package users

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// UpdateRequest is the body of PATCH /v1/users/{id}: the fields present
// change. The login (e-mail, username, user code) is immutable here.
type UpdateRequest struct {
	FirstName   *string   `json:"first_name,omitempty"`
	LastName    *string   `json:"last_name,omitempty"`
	Language    *string   `json:"language,omitempty" enum:"fr|en|nl"`
	Role        *string   `json:"role,omitempty"`
	Units       *[]string `json:"units,omitempty"`
	AllUnits    *bool     `json:"all_units,omitempty"`
	UnitKinds   *[]string `json:"unit_kinds,omitempty" doc:"Every unit of these kinds (company, establishment, site, level), present and future."`
	DefaultUnit *string   `json:"default_unit,omitempty"`
	Username    *string   `json:"username,omitempty" doc:"Immutable: present only to be refused clearly."`
	UserCode    *string   `json:"user_code,omitempty" doc:"Immutable: present only to be refused clearly."`
	Email       *string   `json:"email,omitempty" doc:"Changed by the user (POST /v1/me/email), not here."`
}

func conflictChanged() *problem.Problem {
	return problem.Conflict("conflict", "The user changed meanwhile; read it again and retry.")
}

// Update changes a user's names, language, role or units. A caller whose
// role is limited to its units gives only units within its own.
func (s *Service) Update(ctx context.Context, p principal.Principal, id string, in UpdateRequest) (User, error) {
	old, sc, err := s.get(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	var v validate.Errors
	if in.Username != nil {
		v.Add("username", "is immutable: it identifies the user")
	}
	if in.UserCode != nil {
		v.Add("user_code", "is immutable: it identifies the service user")
	}
	if in.Email != nil {
		v.Add("email", "is changed by its owner through POST /v1/me/email")
	}
	u := old
	var fields []string
	set := func(field string, dst *string, src *string, max int) {
		if src != nil && *src != *dst {
			if field == "first_name" || field == "last_name" {
				if u.Kind == store.Person {
					v.Name(field, *src, max)
				} else {
					v.OptionalName(field, *src, max)
				}
			}
			*dst = strings.TrimSpace(*src)
			fields = append(fields, field)
		}
	}
	set("first_name", &u.FirstName, in.FirstName, 100)
	set("last_name", &u.LastName, in.LastName, 100)
	set("language", &u.Language, in.Language, 2)
	if !language.Valid(u.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	if in.Units != nil && !slices.Equal(*in.Units, u.Units) {
		u.Units = *in.Units
		fields = append(fields, "units")
	}
	if in.UnitKinds != nil && !slices.Equal(*in.UnitKinds, u.UnitKinds) {
		u.UnitKinds = *in.UnitKinds
		fields = append(fields, "unit_kinds")
	}
	if in.AllUnits != nil && *in.AllUnits != u.AllUnits {
		u.AllUnits = *in.AllUnits
		fields = append(fields, "all_units")
		if u.AllUnits && in.Units == nil {
			u.Units = nil
		}
		if u.AllUnits && in.UnitKinds == nil {
			u.UnitKinds = nil
		}
	}
	set("default_unit", &u.DefaultUnit, in.DefaultUnit, 64)
	if err := s.checkUnits(ctx, p.Org, &v, u.Units, u.AllUnits, u.UnitKinds, u.DefaultUnit); err != nil {
		return User{}, err
	}
	roleChanged := in.Role != nil && *in.Role != old.Role
	var roleVersion *int
	if roleChanged {
		switch {
		case old.Role == permission.RoleOwner:
			return User{}, problem.Conflict("owner_protected", "The owner's role changes only by transferring ownership.")
		case old.ID == p.User:
			return User{}, problem.New(http.StatusForbidden, "own_role", "You cannot change your own role.")
		}
		g, err := s.roleFor(ctx, p, sc, *in.Role, &v)
		if err != nil {
			return User{}, err
		}
		if g.Role != "" && !g.BuiltIn {
			roleVersion = &g.Version
		}
		assign(&u, *in.Role, g, s.clients, &v)
		fields = append(fields, "role")
	}
	if old.ID != p.User {
		// Changing a holder of permissions the caller lacks would let the
		// caller act above its own rights.
		if err := s.grantable(p, old.Permissions); err != nil {
			return User{}, err
		}
		if err := sc.ActsOn(ctx, s.store, old); err != nil {
			return User{}, err
		}
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if len(fields) == 0 {
		return view(old), nil
	}
	if err := sc.Gives(old.ID, u.Units, u.AllUnits, u.UnitKinds); err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u.Updated = now
	change := store.UserChange{Old: old, New: &u, Audit: auditOf(p, now, "user.update", u.ID, fields...), RoleVersion: roleVersion,
		Reach: sc.Reach()}
	// The user's credentials carry its role's permissions and its units
	// (the principal the authorizer reads): they change with them.
	unitsChanged := !slices.Equal(old.Units, u.Units) || old.AllUnits != u.AllUnits || old.DefaultUnit != u.DefaultUnit || !slices.Equal(old.UnitKinds, u.UnitKinds)
	if roleChanged || unitsChanged {
		creds, _, err := s.store.UserCredentials(ctx, u.ID)
		if err != nil {
			return User{}, err
		}
		change.Grant = withPermissions(creds, u)
	}
	if err := s.store.ChangeUser(ctx, change); err != nil {
		return User{}, s.changeProblem(err)
	}
	return view(u), nil
}

// withPermissions gives the user's live credentials its new role's
// permissions: its sessions all of them, its API keys their scopes within.
func withPermissions(creds []store.Credential, u store.User) []store.Credential {
	return store.Regrant(creds, u.Role, u.Permissions)
}

// changeProblem explains a lost condition of ChangeUser: the user changed
// meanwhile, or a unit or role it gains is gone.
func (s *Service) changeProblem(err error) error {
	switch {
	case store.Lost(err, store.VersionChanged), store.Lost(err, store.InvitationChanged):
		return conflictChanged()
	case store.Lost(err, store.RoleChanged):
		return problem.Conflict("conflict", "The role changed meanwhile; read it again and retry.")
	case store.Lost(err, store.UserChanged), store.Lost(err, store.TreeChanged):
		return problem.Conflict("conflict", "Your units, or the unit tree, changed meanwhile; read the user again and retry.")
	case store.Lost(err, store.UnitGone), store.Lost(err, store.RoleGone):
		return problem.Invalid(problem.FieldError{Field: "units", Message: "lists a unit (or a role) that does not exist"})
	}
	return err
}

// protect refuses actions on the owner, and on oneself, that would leave
// the organization without its owner or lock the caller out.
func (s *Service) protect(p principal.Principal, u store.User, what string) error {
	if u.Role == permission.RoleOwner {
		return problem.Conflict("owner_protected", "The owner cannot be "+what+"; transfer ownership first.")
	}
	if u.ID == p.User {
		return problem.Conflict("self_protected", "You cannot act on your own account this way.")
	}
	return p.ActOn(u.ID, u.Role, s.perms.Known(u.Permissions))
}

// SetStatus activates or deactivates a user. Deactivation ends every
// session and API key of the user at once, and revokes the pending
// invitations it sent; the ending job written with it ends what a failure
// left. Deactivating an inactive user again finishes that job, and so
// does activation, before the user may log in again.
func (s *Service) SetStatus(ctx context.Context, p principal.Principal, id, status string) (User, error) {
	if status != store.Active && status != store.Inactive {
		return User{}, problem.Invalid(problem.FieldError{Field: "status", Message: "must be active or inactive"})
	}
	old, reach, err := s.changeableReach(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if err := s.protect(p, old, "deactivated"); err != nil {
		return User{}, err
	}
	if old.Status == store.Inactive {
		if _, err := s.finishEnding(ctx, old.Org, old.ID); err != nil {
			return User{}, err
		}
	}
	if old.Status == status {
		return view(old), nil
	}
	u := old
	u.Status, u.Updated = status, s.now().UTC()
	change := store.UserChange{Old: old, New: &u, Audit: auditOf(p, u.Updated, "user.status", u.ID, "status"), Reach: reach}
	if status == store.Inactive {
		var err error
		if change.Revoke, err = s.store.Ended(ctx, u.ID, store.EndAll); err != nil {
			return User{}, err
		}
		if change.Invitations, err = s.store.PendingInvitationsBy(ctx, u.Org, u.ID); err != nil {
			return User{}, err
		}
		change.Job = store.EndingJobOf(u.Org, u.ID, store.EndAll, u.Updated)
	}
	if err := s.store.ChangeUser(ctx, change); err != nil {
		return User{}, s.changeProblem(err)
	}
	return view(u), nil
}

// Delete removes a user, its login and every credential, and revokes the
// pending invitations it sent; the ending job written with the deletion
// ends what a failure left. Deleting a deleted user whose ending is not
// finished finishes it and answers as the deletion did; once nothing is
// left, the user is not found.
func (s *Service) Delete(ctx context.Context, p principal.Principal, id string) error {
	old, err := s.store.GetUser(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		switch left, err := s.finishEnding(ctx, p.Org, id); {
		case err != nil:
			return err
		case left:
			return nil
		}
		return problem.NotFound("No such user.")
	}
	if err != nil {
		return err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return err
	}
	if !sc.User(old) {
		return noSuchUser()
	}
	if err := sc.ActsOn(ctx, s.store, old); err != nil {
		return err
	}
	if err := s.protect(p, old, "deleted"); err != nil {
		return err
	}
	ended, err := s.store.Ended(ctx, old.ID, store.EndAll)
	if err != nil {
		return err
	}
	invs, err := s.store.PendingInvitationsBy(ctx, old.Org, old.ID)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.ChangeUser(ctx, store.UserChange{Old: old, Revoke: ended, Invitations: invs, Reach: sc.Reach(),
		Audit: auditOf(p, now, "user.delete", old.ID), Job: store.EndingJobOf(old.Org, old.ID, store.EndAll, now)})
	if err != nil {
		return s.changeProblem(err)
	}
	return nil
}

// PasswordRequest is the body of POST /v1/users/{id}/password.
type PasswordRequest struct {
	Password      string `json:"password" doc:"The new 6-digit PIN."`
	RequireChange *bool  `json:"require_change,omitempty" doc:"Change it at next login (default true)."`
}

// SetPassword sets a username user's PIN (the manual reset) and ends its
// sessions.
func (s *Service) SetPassword(ctx context.Context, p principal.Principal, id string, in PasswordRequest) (User, error) {
	old, reach, err := s.changeableReach(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if old.Kind != store.Person || old.Username == "" {
		return User{}, problem.New(http.StatusUnprocessableEntity, "not_a_username_user",
			"Only username users get a password set by an admin; e-mail users get a reset link, service users a letter.")
	}
	if err := s.protect(p, old, "reset this way"); err != nil {
		return User{}, err
	}
	var v validate.Errors
	password.Check(&v, "password", in.Password, old.Username, true)
	if err := v.Err(); err != nil {
		return User{}, err
	}
	u := old
	if u.PasswordHash, err = password.Hash(in.Password, s.params); err != nil {
		return User{}, err
	}
	u.RequirePasswordChange = in.RequireChange == nil || *in.RequireChange
	u.Updated = s.now().UTC()
	if err := s.resetPassword(ctx, p, old, u, reach, "user.password"); err != nil {
		return User{}, err
	}
	return view(u), nil
}

// resetPassword writes u with its new password and ends its sessions.
func (s *Service) resetPassword(ctx context.Context, p principal.Principal, old, u store.User, reach *store.Reach, action string) error {
	ended, err := s.store.Ended(ctx, u.ID, store.EndSessions)
	if err != nil {
		return err
	}
	err = s.store.ChangeUser(ctx, store.UserChange{Old: old, New: &u,
		Revoke: ended, Job: store.EndingJobOf(u.Org, u.ID, store.EndSessions, u.Updated), Reach: reach,
		Audit: auditOf(p, u.Updated, action, u.ID, "password")})
	if err != nil {
		return s.changeProblem(err)
	}
	return nil
}
