// Package reauth asks a signed-in user to prove again who they are before
// an action a stolen session must not do alone: the current password, or
// a code of the authenticator for a user with two-step verification.
// Wrong answers are counted, and too many lock the actions that ask.
package reauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/guichet/guichet/shared/lockout"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// Config sets the lock of wrong current passwords.
type Config struct {
	Password    password.Params
	MaxFailures int
	LockWindow  time.Duration
}

// Checker checks current passwords and codes.
type Checker struct {
	store *store.Store
	mfa   *mfa.Service
	lock  *lockout.Limiter
	cfg   Config
	now   func() time.Time
}

// New returns a checker; m may be nil when no code is ever asked.
func New(s *store.Store, m *mfa.Service, cfg Config, now func() time.Time) *Checker {
	return &Checker{store: s, mfa: m, lock: lockout.New(s, now), cfg: cfg, now: now}
}

// Counter names the counter of a user's wrong current passwords.
func Counter(user string) string { return "password#" + user }

// Password checks u's current password against the counter f (as read),
// counting the attempt before the check, atomically; too many wrong ones
// lock the actions that ask for it. A right password releases the attempt.
func (c *Checker) Password(ctx context.Context, u store.User, f store.Failures, pw string) error {
	attempt, err := c.lock.Reserve(ctx, lockout.Policy{Max: c.cfg.MaxFailures, Window: c.cfg.LockWindow}, Counter(u.ID), "", f)
	if l, ok := lockout.IsLocked(err); ok {
		return problem.TooManyRequests("too_many_attempts", "Too many wrong passwords: try again later.", l.Seconds())
	}
	if err != nil {
		return err
	}
	ok, _, err := password.Verify(pw, u.PasswordHash, c.cfg.Password)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		// 403, not 401: the session is fine, the password is not.
		return problem.New(http.StatusForbidden, "invalid_password", "The current password is wrong.")
	}
	return attempt.Release(ctx)
}

// Proof is what a request gives as a recent authentication.
type Proof struct {
	CurrentPassword string `json:"current_password,omitempty" doc:"Your current password: a recent authentication."`
	Code            string `json:"code,omitempty" doc:"Instead of the password, with two-step verification on: a code of your authenticator."`
}

// Recent checks the proof of user of org: its current password, or,
// when its two-step verification is on, a code (used once). It returns
// the user and organization read.
func (c *Checker) Recent(ctx context.Context, org, user string, in Proof) (store.UserContext, error) {
	uc, err := c.store.UserContextOf(ctx, org, user, Counter(user))
	if err != nil {
		return uc, err
	}
	if !uc.Found {
		return uc, problem.NotFound("Your account no longer exists.")
	}
	u := uc.User
	switch {
	case in.CurrentPassword != "":
		return uc, c.Password(ctx, u, uc.Counters[Counter(user)], in.CurrentPassword)
	case in.Code != "" && u.MFAEnabled() && c.mfa != nil:
		return uc, c.code(ctx, u, in.Code)
	case in.Code != "":
		return uc, problem.Invalid(problem.FieldError{Field: "code", Message: "needs two-step verification on; give current_password"})
	}
	return uc, problem.Invalid(problem.FieldError{Field: "current_password",
		Message: "is required: this action needs a recent authentication (or code, with two-step verification)"})
}

// code checks a code of u and records it used.
func (c *Checker) code(ctx context.Context, u store.User, code string) error {
	attempt, err := c.mfa.Attempt(ctx, u)
	if err != nil {
		return err
	}
	proof, err := c.mfa.Check(u, code)
	if errors.Is(err, mfa.ErrInvalidCode) || errors.Is(err, mfa.ErrCodeUsed) {
		return mfa.CodeProblem(err)
	}
	if err != nil {
		return err
	}
	var w store.MFAWrite
	proof.Apply(&w)
	if err := c.store.WriteMFA(ctx, w); err != nil {
		if store.Lost(err, store.CodeUsed) {
			return mfa.CodeProblem(mfa.Lost(err, proof))
		}
		return err
	}
	return attempt.Release(ctx)
}
