package passwordreset

import (
	"context"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// SetupTTL is how long the set-password link of an imported user works:
// longer than a reset link, as it arrives unasked, like an invitation.
const SetupTTL = 7 * 24 * time.Hour

// SetupLink makes the set-password link of u, a user imported without a
// password: a reset link valid SetupTTL, whose credential the caller
// writes with the user (store.NewUser.Link). Completing it sets the
// password and activates the pending user.
func (s *Service) SetupLink(u store.User) (string, store.Credential, error) {
	secret, hash, err := token.New(token.Reset)
	if err != nil {
		return "", store.Credential{}, err
	}
	now := s.now()
	cred := store.NewCredential(hash, store.ResetToken, u.Org, u.ID, now, now.Add(SetupTTL))
	cred.Ref = store.EmailLogin(u.Email) // as a reset link, bound to the login
	return s.link(secret, registry.Back{}), cred, nil
}

// SendSetup mails u its set-password link with the invitation template:
// inviter invites u to join the organization org as role. It reports
// whether the mail was sent.
func (s *Service) SendSetup(ctx context.Context, u store.User, org, inviter, role, link string, expires time.Time) bool {
	return s.mail.Notify(ctx, mail.Invitation, u.Language, u.Email, mail.Data{
		Org: org, Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Inviter: inviter, Role: role,
		Link: link, Expires: expires.UTC().Format("2006-01-02 15:04 UTC"),
	})
}

// SendWelcome mails u, a person an admin (inviter) created in org as
// role, its set-password link with the welcome template. It reports
// whether the mail was sent.
func (s *Service) SendWelcome(ctx context.Context, u store.User, org, inviter, role, link string, expires time.Time) bool {
	return s.mail.Notify(ctx, mail.Welcome, u.Language, u.Email, mail.Data{
		Org: org, Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Inviter: inviter, Role: role,
		Link: link, Expires: expires.UTC().Format("2006-01-02 15:04 UTC"),
	})
}
