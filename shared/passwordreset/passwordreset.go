// Package passwordreset holds the rules of resetting a forgotten password:
// the enumeration-safe request, the one-time link, its completion, and the
// link an admin makes for a user.
package passwordreset

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// Config sets the reset policy.
type Config struct {
	// TTL is how long a reset link works.
	TTL time.Duration
	// PerAddress and PerIP cap the requests per Window.
	PerAddress, PerIP int
	Window            time.Duration
	// Floor is the least time a request takes, so that an address with an
	// account (a write, a mail) answers as fast as one without.
	Floor time.Duration
	// Permissions is the catalog: a permission it no longer holds, still
	// stored on a user, is inert and does not protect the user.
	Permissions permission.Catalog
}

// DefaultConfig is the policy unless configured otherwise.
func DefaultConfig() Config {
	return Config{TTL: time.Hour, PerAddress: 5, PerIP: 30, Window: time.Hour, Floor: 400 * time.Millisecond}
}

// Service applies the reset rules.
type Service struct {
	store     *store.Store
	mail      *mail.Notifier
	publicURL string
	params    password.Params
	cfg       Config
	links     *ratelimit.Limiter
	mails     *ratelimit.Mails
	// clients are the OpenID Connect clients a reset link may lead back
	// to (RequestBody.ReturnTo).
	clients registry.Registry
	now     func() time.Time
}

// New returns a reset service; links point at publicURL.
func New(s *store.Store, m *mail.Notifier, publicURL string, params password.Params, cfg Config, now func() time.Time) *Service {
	return &Service{store: s, mail: m, publicURL: strings.TrimRight(publicURL, "/"), params: params, cfg: cfg,
		links: ratelimit.Links(s, now), mails: ratelimit.NewMails(s, now), now: now}
}

// WithClients returns s with the OpenID Connect clients whose registered
// URIs a reset link may lead back to.
func (s *Service) WithClients(r registry.Registry) *Service {
	c := *s
	c.clients = r
	return &c
}

// link is the reset link of secret, leading back as b says.
func (s *Service) link(secret string, b registry.Back) string {
	q := url.Values{"token": {secret}}
	b.Set(q)
	return s.publicURL + "/reset?" + q.Encode()
}

// Forgot is Request for a request from remoteAddr, answered no sooner than
// the floor whatever happened, so that its timing does not tell whether
// the address has an account.
func (s *Service) Forgot(ctx context.Context, email, remoteAddr string, b registry.Back) error {
	start := time.Now()
	err := s.Request(ctx, email, httpapi.ClientIP(remoteAddr), b)
	time.Sleep(s.cfg.Floor - time.Since(start))
	return err
}

// Request sends a reset link to email if it is an active person's login.
// It says nothing of whether it is: the caller always answers the same.
// Too many requests for one address or from one client are refused. The
// link's page leads back as b says.
func (s *Service) Request(ctx context.Context, email, clientIP string, b registry.Back) error {
	now := s.now()
	login := store.EmailLogin(email)
	byAddress, byIP := "reset-address#"+login, "reset-ip#"+clientIP
	rc, err := s.store.ResetContextOf(ctx, login, byAddress, byIP)
	if err != nil {
		return err
	}
	for k, max := range map[string]int{byAddress: s.cfg.PerAddress, byIP: s.cfg.PerIP} {
		if f := rc.Counters[k]; f.Active(now) >= max {
			return problem.TooManyRequests("too_many_requests",
				"Too many reset requests; try again later.", int(f.RetryAfter(now)/time.Second))
		}
	}
	for _, k := range []string{byAddress, byIP} {
		if _, err := s.store.AddFailure(ctx, k, rc.Counters[k], now, s.cfg.Window); err != nil {
			return err
		}
	}
	if !rc.Found {
		return nil
	}
	u, err := s.store.GetUser(ctx, rc.Guard.Org, rc.Guard.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Status != store.Active || u.Kind != store.Person || u.Email == "")) {
		return nil
	}
	if err != nil {
		return err
	}
	if !s.mails.Quietly(ctx, ratelimit.Mail{Org: u.Org, To: u.Email}) {
		return nil // the answer stays the same: it must not tell the address has an account
	}
	link, err := s.issue(ctx, u, login, rc.Previous, nil, b)
	if store.Lost(err, store.UserChanged) {
		return nil // deactivated meanwhile; the answer stays the same
	}
	if err != nil {
		return err
	}
	s.send(ctx, u, link)
	return nil
}

// issue writes a new reset link for u, replacing the previous one.
func (s *Service) issue(ctx context.Context, u store.User, login, previous string, by *store.ResetBy, b registry.Back) (string, error) {
	secret, hash, err := token.New(token.Reset)
	if err != nil {
		return "", err
	}
	now := s.now()
	cred := store.NewCredential(hash, store.ResetToken, u.Org, u.ID, now, now.Add(s.cfg.TTL))
	cred.Ref = store.EmailLogin(u.Email) // the link works only while this is the user's login
	if err := s.store.CreateReset(ctx, login, cred, previous, by); err != nil {
		return "", err
	}
	return s.link(secret, b), nil
}

func (s *Service) send(ctx context.Context, u store.User, link string) bool {
	org, err := s.store.GetOrg(ctx, u.Org)
	if err != nil {
		return false
	}
	return s.mail.Notify(ctx, mail.PasswordReset, u.Language, u.Email, mail.Data{
		Org: org.Name, Name: strings.TrimSpace(u.FirstName + " " + u.LastName), Link: link,
		Expires: s.now().Add(s.cfg.TTL).UTC().Format("2006-01-02 15:04 UTC"),
	})
}

func unknownLink() *problem.Problem {
	return problem.BadRequest("invalid_link", "This link is unknown, or was replaced by a newer one.")
}

// Check tells whether a reset link works, without using it: nil, or the
// problem Complete would answer (invalid_link, link_used, link_expired).
// The reset page calls it before asking for a new password.
func (s *Service) Check(ctx context.Context, secret string) error {
	_, _, err := s.check(ctx, secret)
	return err
}

// check returns the live reset credential a link token names, and its user.
func (s *Service) check(ctx context.Context, secret string) (store.Credential, store.User, error) {
	_, hash, ok := token.Parse(secret, token.Reset)
	if !ok {
		return store.Credential{}, store.User{}, unknownLink()
	}
	c, err := s.store.GetCredential(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, store.User{}, unknownLink()
	case err != nil:
		return c, store.User{}, err
	case c.Kind != store.ResetToken:
		return c, store.User{}, unknownLink()
	case c.Used != 0:
		return c, store.User{}, problem.New(http.StatusGone, "link_used", "This link was already used.")
	case !c.Valid(s.now()):
		return c, store.User{}, problem.New(http.StatusGone, "link_expired", "This link has expired; ask for a new one.")
	}
	u, err := s.store.GetUser(ctx, c.Org, c.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.Active && u.Status != store.UserPending) {
		return c, u, unknownLink()
	}
	if err == nil && (u.Email == "" || c.Ref != store.EmailLogin(u.Email)) {
		// Mailed to an address that is no longer the user's login.
		return c, u, unknownLink()
	}
	return c, u, err
}

// Complete sets the password a reset link's token allows, ends every
// session of the user (and its API keys when revokeKeys), and sends the
// "password changed" notice when the user wants it. The link reached the
// address: an unproved address becomes the user's login, unless another
// account proved it first (409 email_taken).
func (s *Service) Complete(ctx context.Context, secret, pw string, revokeKeys bool) error {
	c, u, err := s.check(ctx, secret)
	if err != nil {
		return err
	}
	hash, now := c.Hash(), s.now()
	var v validate.Errors
	password.Check(&v, "password", pw, u.Email, false)
	if err := v.Err(); err != nil {
		return err
	}
	next := u
	if next.PasswordHash, err = password.Hash(pw, s.params); err != nil {
		return err
	}
	next.RequirePasswordChange, next.Updated = false, now.UTC()
	fields := []string{"password"}
	if u.Status == store.UserPending { // an imported or created user's first password
		next.Status = store.Active
		fields = append(fields, "status")
	}
	if u.Unproved { // the link reached the address: it is proved
		next.Unproved = false
		fields = append(fields, "email_proved")
	}
	ending := store.EndSessions
	if revokeKeys {
		ending = store.EndAll
		fields = append(fields, "api_keys")
	}
	ended, err := s.store.Ended(ctx, u.ID, ending)
	if err != nil {
		return err
	}
	err = s.store.ChangeUser(ctx, store.UserChange{Old: u, New: &next, Consume: hash, At: now,
		Revoke: ended, Job: store.EndingJobOf(u.Org, u.ID, ending, now),
		Audit: store.Audit{Org: u.Org, Time: now, Actor: u.ID, Via: "reset", Action: "user.password_reset",
			Target: "user:" + u.ID, Fields: fields}})
	switch {
	case store.Lost(err, store.LinkUsed):
		return problem.New(http.StatusGone, "link_used", "This link was already used.")
	case store.Lost(err, store.LoginTaken):
		// Told to the address's holder, who opened the link mailed to it.
		return problem.Conflict("email_taken", "Your address is already the login of another account: sign in with it, or reset its password.")
	case errors.Is(err, store.ErrConflict):
		return problem.Conflict("conflict", "The account changed meanwhile; try again.")
	case err != nil:
		return err
	}
	s.tellChanged(ctx, u, now)
	return nil
}

// tellChanged sends u the "password changed" notice, as a password change
// does: when u wants it (notices.PasswordChanged) and the mail limits let
// it go. The password is set already: nothing here fails the reset.
func (s *Service) tellChanged(ctx context.Context, u store.User, now time.Time) {
	if u.Email == "" || !notices.Wants(u, notices.PasswordChanged) ||
		!s.mails.Quietly(ctx, ratelimit.Mail{Org: u.Org, User: u.ID, To: u.Email, Notice: true}) {
		return
	}
	org, err := s.store.GetOrg(ctx, u.Org)
	if err != nil {
		return
	}
	s.mail.Notify(ctx, mail.PasswordChanged, u.Language, u.Email, mail.Data{
		Org: org.Name, Name: strings.TrimSpace(u.FirstName + " " + u.LastName),
		When: now.UTC().Format("2006-01-02 15:04 UTC"), Link: s.publicURL + "/forgot"})
}

// AdminLink is the answer to an admin's reset of a user's password.
type AdminLink struct {
	Link     string `json:"link" doc:"The reset link, to copy; valid one hour, single use. Empty for a person of other organizations too: mailed to it only."`
	MailSent bool   `json:"mail_sent"`
}

// ForUser makes a reset link for an e-mail user of p's organization (for
// a caller whose role is limited to its units, within them) and sends it
// when asked.
func (s *Service) ForUser(ctx context.Context, p principal.Principal, id string, send bool) (AdminLink, error) {
	u, err := s.store.GetUser(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return AdminLink{}, problem.NotFound("No such user.")
	}
	if err != nil {
		return AdminLink{}, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return AdminLink{}, err
	}
	if !sc.User(u) {
		return AdminLink{}, problem.NotFound("No such user.")
	}
	if err := sc.ActsOn(ctx, s.store, u); err != nil {
		return AdminLink{}, err
	}
	if u.Kind != store.Person || u.Email == "" {
		return AdminLink{}, problem.New(http.StatusUnprocessableEntity, "not_an_email_user",
			"Only e-mail users get a reset link; username users get a new PIN (POST /v1/users/{id}/password), service users a letter.")
	}
	if err := p.ActOn(u.ID, u.Role, s.cfg.Permissions.Known(u.Permissions)); err != nil {
		return AdminLink{}, err
	}
	if u.Status == store.Inactive {
		return AdminLink{}, userInactive()
	}
	login := u.ResetKey()
	rc, err := s.store.ResetContextOf(ctx, login)
	if err != nil {
		return AdminLink{}, err
	}
	// A person of other organizations too: a link set here would set the
	// password that opens them.
	shared := u.Person != "" && rc.Found && rc.Guard.Person == u.Person && rc.Guard.MemberCount() > 1
	if shared && !send {
		return AdminLink{}, problem.Conflict("person_shared",
			"This person belongs to other organizations too: its password is theirs as well, so its reset link is only mailed to it (send_email).")
	}
	if send {
		if err := s.mails.Take(ctx, ratelimit.Mail{Org: p.Org, User: p.User, To: u.Email}); err != nil {
			return AdminLink{}, err
		}
	}
	by := &store.ResetBy{Audit: store.Audit{Org: p.Org, Time: s.now(), Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: "user.password_reset_link", Target: "user:" + u.ID, Fields: []string{"send_email"}}}
	if r := sc.Reach(); r != nil {
		by.Within = &store.Within{Reach: *r, Version: u.Version}
	}
	link, err := s.issue(ctx, u, login, rc.Previous, by, registry.Back{})
	if store.Lost(err, store.TreeChanged) || by.Within != nil && store.Lost(err, store.UserChanged) {
		// The caller's units, the unit tree or the user changed since the
		// check: the link is not made on what may no longer hold.
		return AdminLink{}, problem.Conflict("conflict", "The user or your units changed meanwhile; try again.")
	}
	if store.Lost(err, store.UserChanged) {
		return AdminLink{}, userInactive() // deactivated meanwhile
	}
	if err != nil {
		return AdminLink{}, err
	}
	out := AdminLink{Link: link}
	if shared {
		out.Link = "" // the person's alone
	}
	if send {
		out.MailSent = s.send(ctx, u, link)
	}
	return out, nil
}

// userInactive refuses a reset link for an inactive user: it could not be
// used, and would outlive the user's deactivation.
func userInactive() *problem.Problem {
	return problem.Conflict("user_inactive", "This user is inactive; activate it first.")
}
