package session

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// AnswerMFA answers an mfa challenge with a TOTP or recovery code. The
// challenge is consumed, the code recorded as used (a TOTP time step, a
// recovery code's item) and the session opened (or the next step's
// challenge issued, Next) in one transaction. Wrong codes count against
// the user; too many lock its codes for a while.
func (s *Service) AnswerMFA(ctx context.Context, challengeToken, code string, c Client) (any, error) {
	ch, uc, err := s.answer(ctx, challengeToken, store.MFAChallenge)
	if err != nil {
		return nil, err
	}
	u := uc.User
	if !u.MFAEnabled() {
		return nil, invalidToken() // turned off since the login
	}
	attempt, err := s.mfa.Attempt(ctx, u)
	if err != nil {
		return nil, err
	}
	proof, err := s.mfa.Check(u, code)
	if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrCodeUsed) {
		return nil, mfa.CodeProblem(err)
	}
	if err != nil {
		return nil, err
	}
	w := store.MFAWrite{Challenge: ch.Hash()}
	proof.Apply(&w)
	op, err := s.Next(ctx, u, uc.Org, c, store.MFAChallenge)
	if err != nil {
		return nil, err
	}
	w.Next = op.Next
	err = s.store.WriteMFA(ctx, w)
	switch {
	case store.Lost(err, store.RoleChanged):
		return nil, roleChanged()
	case store.Lost(err, store.ChallengeGone):
		return nil, invalidToken()
	case store.Lost(err, store.CodeUsed):
		return nil, mfa.CodeProblem(mfa.Lost(err, proof))
	case err != nil:
		return nil, err
	}
	_ = attempt.Release(ctx) // the window ends anyway
	return op.Answer, nil
}

// StartEnrollment answers an mfa_enrollment challenge with a new
// authenticator secret; the challenge stays valid for the confirmation.
func (s *Service) StartEnrollment(ctx context.Context, challengeToken string) (mfa.TOTPSetup, error) {
	_, uc, err := s.answer(ctx, challengeToken, store.MFAEnrollmentChallenge)
	if err != nil {
		return mfa.TOTPSetup{}, err
	}
	a := store.Audit{Org: uc.User.Org, Time: s.now(), Actor: uc.User.ID, Via: "challenge"}
	st, err := s.mfa.Start(ctx, uc.User, a)
	if errors.Is(err, store.ErrConflict) {
		return mfa.TOTPSetup{}, invalidToken() // the user changed meanwhile: log in again
	}
	if err != nil {
		return mfa.TOTPSetup{}, err
	}
	return mfa.SetupView(st), nil
}

// Enrolled is the answer to a confirmed enrollment at login: the recovery
// codes, shown this once, and the session's tokens.
type Enrolled struct {
	RecoveryCodes []string `json:"recovery_codes" doc:"Ten single-use codes for when the authenticator is lost; shown once"`
	Tokens
}

// ConfirmEnrollment answers an mfa_enrollment challenge with the code of
// the new authenticator: two-step verification is turned on, the
// challenge consumed and a session opened, in one transaction.
func (s *Service) ConfirmEnrollment(ctx context.Context, challengeToken, code string, c Client) (Enrolled, error) {
	ch, uc, err := s.answer(ctx, challengeToken, store.MFAEnrollmentChallenge)
	if err != nil {
		return Enrolled{}, err
	}
	u := uc.User
	op, err := s.Next(ctx, u, uc.Org, c, store.MFAEnrollmentChallenge)
	if err != nil {
		return Enrolled{}, err
	}
	if op.Tokens == nil {
		return Enrolled{}, problem.Internal() // enrollment is the last step
	}
	a := store.Audit{Org: u.Org, Time: s.now(), Actor: u.ID, Via: "challenge"}
	w := store.MFAWrite{Challenge: ch.Hash(), Next: op.Next}
	codes, err := s.mfa.Confirm(ctx, u, code, a, w)
	switch {
	case store.Lost(err, store.RoleChanged):
		return Enrolled{}, roleChanged()
	case store.Lost(err, store.ChallengeGone):
		return Enrolled{}, invalidToken()
	case errors.Is(err, store.ErrConflict):
		return Enrolled{}, invalidToken() // the user changed meanwhile: log in again
	case err != nil:
		return Enrolled{}, mfa.CodeProblem(err)
	}
	return Enrolled{RecoveryCodes: codes, Tokens: *op.Tokens}, nil
}
