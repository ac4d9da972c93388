package profile

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// EmailRequest is the body of POST /v1/me/email.
type EmailRequest struct {
	NewEmail string `json:"new_email"`
	Password string `json:"password" doc:"The current password"`
}

// EmailAccepted is the answer to an e-mail change request.
type EmailAccepted struct {
	Message string    `json:"message"`
	Expires time.Time `json:"expires" doc:"When the link stops working"`
}

// EmailConfirmRequest is the body of POST /v1/me/email/confirm.
type EmailConfirmRequest struct {
	Token string `json:"token" doc:"The token of the link sent to the new address (gem_…)"`
}

// EmailChanged is the answer to a confirmed e-mail change.
type EmailChanged struct {
	Email string `json:"email" doc:"The new e-mail address, now the login"`
}

// RequestEmailChange sends a link to confirm newEmail as p's e-mail and
// login. Until it is confirmed, the old address stays the login. A new
// request replaces the previous link. An address that is already a login
// gets a notice instead, and the answer is the same.
func (s *Service) RequestEmailChange(ctx context.Context, p principal.Principal, newEmail, pw string) (EmailAccepted, error) {
	if err := sessionOnly(p); err != nil {
		return EmailAccepted{}, err
	}
	var v validate.Errors
	newEmail, _ = v.Email("new_email", newEmail)
	if err := v.Err(); err != nil {
		return EmailAccepted{}, err
	}
	login := store.EmailLogin(newEmail)
	c, err := s.store.EmailChangeContextOf(ctx, p.Org, p.User, login, passwordCounter(p.User))
	if err != nil {
		return EmailAccepted{}, err
	}
	if !c.Found {
		return EmailAccepted{}, problem.NotFound("The user no longer exists.")
	}
	u := c.User
	if u.Kind != store.Person || u.Email == "" {
		return EmailAccepted{}, problem.New(http.StatusUnprocessableEntity, "no_email",
			"This account logs in with a username, not an e-mail address; an administrator manages it.")
	}
	if err := s.checkPassword(ctx, u, c.Counters[passwordCounter(u.ID)], pw); err != nil {
		return EmailAccepted{}, err
	}
	if login == store.EmailLogin(u.Email) {
		return EmailAccepted{}, problem.Invalid(problem.FieldError{Field: "new_email", Message: "is your current address"})
	}
	now := s.now()
	expires := now.Add(s.cfg.EmailChangeTTL)
	accepted := EmailAccepted{Message: "A confirmation link is on its way to " + newEmail + ". Until you confirm, your login stays the same.",
		Expires: expires.UTC()}
	if c.Taken {
		// The answer is the same: only the address's holder hears that
		// it is taken, not the member who asked.
		s.mail.Notify(ctx, mail.AddressInUse, u.Language, newEmail, mail.Data{
			Org: c.Org.Name, NewEmail: newEmail, Link: s.publicURL + "/forgot"})
		return accepted, nil
	}
	if err := s.mails.Take(ctx, ratelimit.Mail{Org: u.Org, User: u.ID, To: newEmail}); err != nil {
		return EmailAccepted{}, err
	}
	secret, hash, err := token.New(token.EmailChange)
	if err != nil {
		return EmailAccepted{}, err
	}
	cred := store.NewCredential(hash, store.EmailChangeToken, u.Org, u.ID, now, expires)
	cred.Ref = newEmail
	if err := s.store.CreateEmailChange(ctx, cred, c.Previous); err != nil {
		return EmailAccepted{}, err
	}
	link := s.publicURL + "/email/confirm?token=" + url.QueryEscape(secret)
	s.mail.Notify(ctx, mail.EmailChange, u.Language, newEmail, mail.Data{
		Org: c.Org.Name, Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Link: link,
		Expires: expires.UTC().Format("2006-01-02 15:04 UTC"), OldEmail: u.Email, NewEmail: newEmail})
	return accepted, nil
}

func invalidLink() *problem.Problem {
	return problem.BadRequest("invalid_link", "This link is unknown, or was replaced by a newer one.")
}

func usedLink() *problem.Problem {
	return problem.New(http.StatusGone, "link_used", "This link was already used.")
}

// ConfirmEmailChange switches the login of the user a link names to the
// new address: the token is consumed, the user's e-mail changed, the old
// login guard deleted and the new one created, in one transaction. Of two
// users confirming the same address, exactly one wins; the other gets 409.
// The old address then gets a notice.
func (s *Service) ConfirmEmailChange(ctx context.Context, secret string) (EmailChanged, error) {
	_, hash, ok := token.Parse(secret, token.EmailChange)
	if !ok {
		return EmailChanged{}, invalidLink()
	}
	now := s.now()
	c, err := s.store.GetCredential(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return EmailChanged{}, invalidLink()
	case err != nil:
		return EmailChanged{}, err
	case c.Kind != store.EmailChangeToken:
		return EmailChanged{}, invalidLink()
	case c.Used != 0:
		return EmailChanged{}, usedLink()
	case !c.Valid(now):
		return EmailChanged{}, problem.New(http.StatusGone, "link_expired", "This link has expired; ask for a new one.")
	}
	uc, err := s.store.UserContextOf(ctx, c.Org, c.User)
	if err != nil {
		return EmailChanged{}, err
	}
	u := uc.User
	if !uc.Found || u.Status != store.Active || u.Email == "" {
		return EmailChanged{}, invalidLink()
	}
	next := u
	next.Email, next.Updated = c.Ref, now.UTC()
	ended, err := s.store.Ended(ctx, u.ID, store.EndLinks)
	if err != nil {
		return EmailChanged{}, err
	}
	err = s.store.ChangeLogin(ctx, store.UserChange{Old: u, New: &next, Consume: hash, At: now, Revoke: ended,
		Job: store.EndingJobOf(u.Org, u.ID, store.EndLinks, now),
		Audit: store.Audit{Org: u.Org, Time: now, Actor: u.ID, Via: "link", Action: "user.email_change",
			Target: "user:" + u.ID, Fields: []string{"email"}}})
	switch {
	case store.Lost(err, store.LinkUsed):
		return EmailChanged{}, usedLink()
	case store.Lost(err, store.LoginTaken):
		return EmailChanged{}, problem.Conflict("email_taken", "This address became the login of another account meanwhile.")
	case errors.Is(err, store.ErrConflict):
		return EmailChanged{}, problem.Conflict("conflict", "The account changed meanwhile; try again.")
	case err != nil:
		return EmailChanged{}, err
	}
	// Always sent, whatever the settings: the old address is where the
	// owner of a taken-over account hears of it.
	// Its limit skips it quietly: the change is made already.
	if s.mails.Quietly(ctx, ratelimit.Mail{Org: u.Org, User: u.ID, To: u.Email, Notice: true}) {
		s.mail.Notify(ctx, mail.EmailChanged, u.Language, u.Email, mail.Data{
			Org: uc.Org.Name, Name: strings.TrimSpace(u.FirstName + " " + u.LastName),
			When: now.UTC().Format("2006-01-02 15:04 UTC"), OldEmail: u.Email, NewEmail: next.Email})
	}
	return EmailChanged{Email: next.Email}, nil
}

// AskEmailChange is RequestEmailChange for a request's fields.
func (s *Service) AskEmailChange(ctx context.Context, p principal.Principal, req EmailRequest) (EmailAccepted, error) {
	var v validate.Errors
	v.Required("new_email", req.NewEmail, 254)
	v.Required("password", req.Password, 1024)
	if err := v.Err(); err != nil {
		return EmailAccepted{}, err
	}
	return s.RequestEmailChange(ctx, p, req.NewEmail, req.Password)
}

// ConfirmEmailLink is ConfirmEmailChange for a client at remoteAddr: an
// unknown link counts against the client's allowance of guesses.
func (s *Service) ConfirmEmailLink(ctx context.Context, req EmailConfirmRequest, remoteAddr string) (EmailChanged, error) {
	var v validate.Errors
	v.Required("token", req.Token, 128)
	if err := v.Err(); err != nil {
		return EmailChanged{}, err
	}
	out, err := s.ConfirmEmailChange(ctx, req.Token)
	if err != nil {
		return EmailChanged{}, s.links.Judge(ctx, remoteAddr, err)
	}
	return out, nil
}
