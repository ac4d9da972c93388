package profile

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// CodeRequest is the body of POST /v1/me/mfa/totp/confirm.
type CodeRequest struct {
	Code string `json:"code" doc:"A 6-digit code of the authenticator app"`
	// CurrentPassword is asked so that a stolen session cannot tie the
	// account to the thief's authenticator.
	CurrentPassword string `json:"current_password" doc:"Your current password: a recent authentication."`
}

// RecoveryCodes are shown once, when two-step verification is turned on.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes" doc:"Ten single-use codes for when the authenticator is lost; shown once"`
}

// DisableRequest is the body of DELETE /v1/me/mfa/totp.
type DisableRequest struct {
	Password string `json:"password"`
	Code     string `json:"code" doc:"A code of the authenticator app, or a recovery code"`
}

// StartTOTP makes a new authenticator secret, kept pending until a code of
// it confirms it.
func (s *Service) StartTOTP(ctx context.Context, p principal.Principal) (mfa.TOTPSetup, error) {
	if err := sessionOnly(p); err != nil {
		return mfa.TOTPSetup{}, err
	}
	uc, err := s.context(ctx, p)
	if err != nil {
		return mfa.TOTPSetup{}, err
	}
	st, err := s.mfa.Start(ctx, uc.User, event(p, s.now(), "", p.User, nil))
	if err != nil {
		return mfa.TOTPSetup{}, err
	}
	return mfa.SetupView(st), nil
}

// ConfirmTOTP turns two-step verification on with a code of the pending
// authenticator and returns the recovery codes.
func (s *Service) ConfirmTOTP(ctx context.Context, p principal.Principal, req CodeRequest) (RecoveryCodes, error) {
	if err := sessionOnly(p); err != nil {
		return RecoveryCodes{}, err
	}
	var v validate.Errors
	v.Required("code", req.Code, 32)
	v.Required("current_password", req.CurrentPassword, 1024)
	if err := v.Err(); err != nil {
		return RecoveryCodes{}, err
	}
	uc, err := s.context(ctx, p, passwordCounter(p.User))
	if err != nil {
		return RecoveryCodes{}, err
	}
	if err := s.checkPassword(ctx, uc.User, uc.Counters[passwordCounter(p.User)], req.CurrentPassword); err != nil {
		return RecoveryCodes{}, err
	}
	codes, err := s.mfa.Confirm(ctx, uc.User, req.Code,
		event(p, s.now(), "", p.User, nil), store.MFAWrite{})
	if err != nil {
		return RecoveryCodes{}, mfa.CodeProblem(err)
	}
	return RecoveryCodes{RecoveryCodes: codes}, nil
}

// DisableTOTP turns two-step verification off, given the password and a
// code (TOTP or recovery), unless the organization requires it of the
// user's role. The unused recovery codes are deleted.
func (s *Service) DisableTOTP(ctx context.Context, p principal.Principal, req DisableRequest) error {
	if err := sessionOnly(p); err != nil {
		return err
	}
	var v validate.Errors
	v.Required("password", req.Password, 1024)
	v.Required("code", req.Code, 32)
	if err := v.Err(); err != nil {
		return err
	}
	uc, err := s.context(ctx, p, passwordCounter(p.User))
	if err != nil {
		return err
	}
	u := uc.User
	if !u.MFAEnabled() {
		return problem.Conflict("mfa_off", "Two-step verification is off already.")
	}
	if mfa.Required(uc.Org, u) {
		return problem.Conflict("mfa_required", "Your organization requires two-step verification of your role.")
	}
	if err := s.checkPassword(ctx, u, uc.Counters[passwordCounter(u.ID)], req.Password); err != nil {
		return err
	}
	attempt, err := s.mfa.Attempt(ctx, u)
	if err != nil {
		return err
	}
	proof, err := s.mfa.Check(u, req.Code)
	if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrCodeUsed) {
		return mfa.CodeProblem(err)
	}
	if err != nil {
		return err
	}
	wr := mfa.Off(u, s.now(), event(p, s.now(), "", p.User, nil))
	proof.Apply(&wr)
	err = s.store.WriteMFA(ctx, wr)
	if store.Lost(err, store.CodeUsed) {
		return mfa.CodeProblem(mfa.Lost(err, proof))
	}
	if err != nil {
		return err
	}
	_ = attempt.Release(ctx) // the window ends anyway
	return nil
}
