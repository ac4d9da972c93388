package users

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// ResetMFA turns a user's two-step verification off for a user who lost
// their authenticator: the enrolled (or pending) authenticator and the
// unused recovery codes go, and every session of the user ends, so the
// next login asks for a new enrollment when the organization requires one.
func (s *Service) ResetMFA(ctx context.Context, p principal.Principal, id string) (User, error) {
	old, reach, err := s.changeableReach(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	if err := s.protect(p, old, "reset this way"); err != nil {
		return User{}, err
	}
	if !old.MFAEnabled() && old.MFAPending == "" {
		return User{}, problem.Conflict("mfa_off", "This user has no two-step verification to reset.")
	}

	u := old
	u.MFA = store.MFA{}
	u.Updated = s.now().UTC()
	ended, err := s.store.Ended(ctx, u.ID, store.EndSessions)
	if err != nil {
		return User{}, err
	}
	// The authenticator is a person's: an administrator of one of its
	// organizations does not turn it off for the others (Alone).
	err = s.store.WriteMFA(ctx, store.MFAWrite{DropCodes: old.MFACodes, Change: &store.UserChange{
		Old: old, New: &u, Revoke: ended, Alone: true, Reach: reach, Audit: auditOf(p, u.Updated, "user.mfa_reset", u.ID, "mfa"),
		Job: store.EndingJobOf(u.Org, u.ID, store.EndSessions, u.Updated)}})
	if errors.Is(err, store.ErrShared) {
		return User{}, problem.Conflict("person_shared",
			"This person belongs to other organizations too: their two-step verification is not this organization's to reset.")
	}
	if err != nil {
		return User{}, s.changeProblem(err)
	}
	return view(u), nil
}
