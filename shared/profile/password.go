package profile

import (
	"context"
	"strings"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/reauth"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// PasswordRequest is the body of POST /v1/me/password.
type PasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password" doc:"A PIN of 6 digits for username users"`
}

// passwordCounter names the counter of a user's wrong current passwords.
func passwordCounter(user string) string { return reauth.Counter(user) }

// checkPassword checks u's current password against the counter f,
// counting the attempt before the check; too many wrong ones lock the
// actions that ask for it.
func (s *Service) checkPassword(ctx context.Context, u store.User, f store.Failures, pw string) error {
	return s.reauth.Password(ctx, u, f, pw)
}

// ChangePassword sets a new password after checking the current one, ends
// every other session of the user (the current one, p's, stays) and sends
// the "password changed" notice when the user wants it.
func (s *Service) ChangePassword(ctx context.Context, p principal.Principal, current, next string) error {
	if err := sessionOnly(p); err != nil {
		return err
	}
	uc, err := s.context(ctx, p, passwordCounter(p.User))
	if err != nil {
		return err
	}
	u := uc.User
	if err := s.checkPassword(ctx, u, uc.Counters[passwordCounter(u.ID)], current); err != nil {
		return err
	}
	var v validate.Errors
	password.Check(&v, "new_password", next, u.LoginKey(), u.Username != "")
	if err := v.Err(); err != nil {
		return err
	}
	if next == current {
		return problem.Invalid(problem.FieldError{Field: "new_password", Message: "must differ from the current password"})
	}
	now := s.now()
	changed := u
	if changed.PasswordHash, err = password.Hash(next, s.cfg.Password); err != nil {
		return err
	}
	changed.RequirePasswordChange, changed.Updated = false, now.UTC()
	ending := store.EndSessionsBut(p.CredentialID)
	ended, err := s.store.Ended(ctx, u.ID, ending)
	if err != nil {
		return err
	}
	err = s.store.ChangeUser(ctx, store.UserChange{Old: u, New: &changed,
		Revoke: ended, Job: store.EndingJobOf(u.Org, u.ID, ending, now),
		Audit: event(p, now, "user.password_change", u.ID, []string{"password"})})
	if err != nil {
		return notFound(err)
	}
	if u.Email != "" && notices.Wants(u, notices.PasswordChanged) && s.mails.Quietly(ctx, ratelimit.Mail{Org: u.Org, User: u.ID, To: u.Email, Notice: true}) {
		s.mail.Notify(ctx, mail.PasswordChanged, u.Language, u.Email, mail.Data{
			Org: uc.Org.Name, Name: strings.TrimSpace(u.FirstName + " " + u.LastName),
			When: now.UTC().Format("2006-01-02 15:04 UTC"), Link: s.publicURL + "/forgot"})
	}
	return nil
}

// ChangePasswordTo is ChangePassword for a request's fields.
func (s *Service) ChangePasswordTo(ctx context.Context, p principal.Principal, req PasswordRequest) error {
	var v validate.Errors
	v.Required("current_password", req.CurrentPassword, 1024)
	v.Required("new_password", req.NewPassword, 1024)
	if err := v.Err(); err != nil {
		return err
	}
	return s.ChangePassword(ctx, p, req.CurrentPassword, req.NewPassword)
}
