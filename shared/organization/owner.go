package organization

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// OwnerRequest is the body of POST /v1/organization/owner.
type OwnerRequest struct {
	UserID string `json:"user_id" doc:"The new owner: an active person with an e-mail address."`
}

// Owner is the answer to a transfer of ownership.
type Owner struct {
	OwnerID       string `json:"owner_id"`
	PreviousOwner string `json:"previous_owner_id" doc:"The previous owner, now an admin."`
}

// TransferOwnership hands the organization to another active person with
// an e-mail; the previous owner becomes an admin. Only the owner may.
func (s *Service) TransferOwnership(ctx context.Context, p principal.Principal, to string) (Owner, error) {
	if p.Role != permission.RoleOwner || p.Credential != principal.Session {
		return Owner{}, problem.Forbidden("Only the owner, signed in, transfers ownership.")
	}
	if to == p.User {
		return Owner{}, problem.Invalid(problem.FieldError{Field: "user_id", Message: "is already the owner"})
	}
	org, err := s.store.GetOrg(ctx, p.Org)
	if err != nil {
		return Owner{}, err
	}
	from, err := s.store.GetUser(ctx, p.Org, p.User)
	if err != nil {
		return Owner{}, err
	}
	next, err := s.store.GetUser(ctx, p.Org, to)
	if errors.Is(err, store.ErrNotFound) {
		return Owner{}, problem.NotFound("No such user.")
	}
	if err != nil {
		return Owner{}, err
	}
	if next.Kind != store.Person || next.Email == "" || next.Status != store.Active {
		return Owner{}, problem.Invalid(problem.FieldError{Field: "user_id",
			Message: "must be an active person with an e-mail address"})
	}
	now := s.now().UTC()
	admin, _ := s.perms.BuiltIn(permission.RoleAdmin)
	owner, _ := s.perms.BuiltIn(permission.RoleOwner)
	change := func(u store.User, role string, perms []permission.Permission, action string) (store.UserChange, error) {
		old := u
		u.Role, u.Permissions, u.Updated = role, permission.Strings(perms), now
		creds, _, err := s.store.UserCredentials(ctx, u.ID)
		if err != nil {
			return store.UserChange{}, err
		}
		grant := store.Regrant(creds, u.Role, u.Permissions)
		return store.UserChange{Old: old, New: &u, Grant: grant, Audit: store.Audit{Org: p.Org, Time: now,
			Actor: p.User, Via: p.Credential + ":" + p.CredentialID, Action: action,
			Target: "user:" + u.ID, Fields: []string{"role"}}}, nil
	}
	fromChange, err := change(from, permission.RoleAdmin, admin, "organization.owner.previous")
	if err != nil {
		return Owner{}, err
	}
	toChange, err := change(next, permission.RoleOwner, owner, "organization.owner")
	if err != nil {
		return Owner{}, err
	}
	if err := s.store.TransferOwnership(ctx, org, next.ID, fromChange, toChange); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Owner{}, problem.Conflict("conflict", "The organization or one of the users changed meanwhile; retry.")
		}
		return Owner{}, err
	}
	return Owner{OwnerID: next.ID, PreviousOwner: from.ID}, nil
}
