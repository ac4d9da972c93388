package invitations

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// errUnknownLink is the answer to a token never issued, replaced by a
// newer link, or revoked.
func errUnknownLink() *problem.Problem {
	return problem.BadRequest("invalid_link", "This link is unknown, or was replaced by a newer one or revoked.")
}

func errExpiredLink() *problem.Problem {
	return problem.New(http.StatusGone, "link_expired", "This link has expired; ask for a new one.")
}

func errUsedLink() *problem.Problem {
	return problem.New(http.StatusGone, "link_used", "This link was already used.")
}

// Preview is what an invitation link invites to.
type Preview struct {
	Organization string `json:"organization"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	RoleName     string `json:"role_name"`
	Language     string `json:"language" enum:"fr|en|nl"`
	ExpiresAt    string `json:"expires_at"`
}

// credential returns the live invitation credential a link token names.
func (s *Service) credential(ctx context.Context, secret string) (store.Credential, error) {
	_, hash, ok := token.Parse(secret, token.Invite)
	if !ok {
		return store.Credential{}, errUnknownLink()
	}
	c, err := s.store.GetCredential(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c, errUnknownLink()
	case err != nil:
		return c, err
	case c.Kind != store.InviteToken:
		return c, errUnknownLink()
	case c.Used != 0:
		return c, errUsedLink()
	case !c.Valid(s.now()):
		return c, errExpiredLink()
	}
	return c, nil
}

// permissionsOf returns the permissions of an invitation's role and its
// name (in lang for a built-in role): a built-in role's, or a custom
// role's, read (a 409 role_gone when it is gone), without those the
// catalog no longer holds.
func (s *Service) permissionsOf(ctx context.Context, org, role, lang string) (perms []string, name string, err error) {
	g, err := s.store.RoleGrant(ctx, s.perms, org, role)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", problem.Conflict("role_gone", "The invitation's role no longer exists; ask for a new invitation.")
	}
	if err != nil {
		return nil, "", err
	}
	if g.BuiltIn {
		g.Name, _ = permission.BuiltInName(role, lang)
	}
	return g.Permissions, g.Name, nil
}

// roleName is how role is named to people in lang (permissionsOf).
func (s *Service) roleName(ctx context.Context, org, role, lang string) (string, error) {
	_, name, err := s.permissionsOf(ctx, org, role, lang)
	return name, err
}

// Preview tells what a link invites to, without using it.
func (s *Service) Preview(ctx context.Context, secret string) (Preview, error) {
	c, err := s.credential(ctx, secret)
	if err != nil {
		return Preview{}, err
	}
	inv, org, err := s.store.InvitationOf(ctx, c.Org, c.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return Preview{}, errUnknownLink()
	}
	if err != nil {
		return Preview{}, err
	}
	if inv.Status != store.Pending || inv.TokenHash != c.Hash() {
		return Preview{}, errUnknownLink()
	}
	_, name, err := s.permissionsOf(ctx, c.Org, inv.Role, inv.Language)
	if err != nil {
		return Preview{}, err
	}
	return Preview{Organization: org.Name, Email: inv.Email, Role: inv.Role, RoleName: name, Language: inv.Language,
		ExpiresAt: inv.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")}, nil
}

// AcceptRequest is the body of POST /v1/invitations/accept.
type AcceptRequest struct {
	Token    string `json:"token"`
	Password string `json:"password,omitempty" doc:"The new account's password; for an address that has a login already, its password (the invitation adds a membership to that account), or none with Authorization: Bearer of a session of that person"`
	// The names are required for a new account; an existing login's
	// membership takes those of the account when absent.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Session is the access token of the request's Authorization header:
	// a session of the person whose login the invitation's address is
	// accepts it instead of the password.
	Session string `json:"-"`
	// Browser is the browser's single sign-on session (its refresh token,
	// the hosted pages' cookie): a session of that person, as Session.
	Browser string `json:"-"`
}

// Accept creates the invited account with the invited e-mail and signs it
// in: tokens, or the challenge of the step its organization requires first
// (session.Next). Of concurrent accepts of one link, exactly one wins.
func (s *Service) Accept(ctx context.Context, in AcceptRequest, client session.Client) (any, error) {
	c, err := s.credential(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	inv, org, err := s.store.InvitationOf(ctx, c.Org, c.Ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownLink()
	}
	if err != nil {
		return nil, err
	}
	if inv.Status != store.Pending || inv.TokenHash != c.Hash() {
		return nil, errUnknownLink()
	}
	permList, _, err := s.permissionsOf(ctx, c.Org, inv.Role, inv.Language)
	if err != nil {
		return nil, err
	}
	inviter, g, found, err := s.inviter(ctx, inv, permList)
	if err != nil {
		return session.Tokens{}, err
	}
	if found && g.Person != "" {
		return s.join(ctx, in, c, inv, org, inviter, permList, g, client)
	}
	// The address is no one's login yet: a session (of whoever) opens
	// nothing here; the new account needs its names and password.
	var v validate.Errors
	v.Name("first_name", in.FirstName, 100)
	v.Name("last_name", in.LastName, 100)
	password.Check(&v, "password", in.Password, inv.Email, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := password.Hash(in.Password, s.params)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := store.User{Org: inv.Org, OrgCode: org.Code, ID: store.NewID("usr_"), Kind: store.Person, Email: inv.Email,
		FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName), Language: inv.Language,
		Role: inv.Role, Permissions: permList, Status: store.Active, Units: inv.Units, AllUnits: inv.AllUnits, UnitKinds: inv.UnitKinds,
		PasswordHash: hash, Created: now, Updated: now}
	op, err := s.sessions.Next(ctx, u, org, client, "")
	if err != nil {
		return nil, err
	}
	a := store.Audit{Org: inv.Org, Time: now, Actor: u.ID, Via: "invitation:" + inv.ID, Action: "invitation.accept",
		Target: "user:" + u.ID, Fields: []string{"email", "names", "role", "units"}}
	err = s.store.AcceptInvitation(ctx, inv, inviter, u, op.Next, a)
	switch {
	case store.Lost(err, store.RoleChanged):
		return nil, problem.Conflict("conflict", "The invitation's role changed meanwhile; try again.")
	case store.Lost(err, store.UserChanged):
		return session.Tokens{}, inviterGone()
	case store.Lost(err, store.LinkUsed):
		return nil, errUsedLink()
	case store.Lost(err, store.InvitationChanged):
		return nil, errUnknownLink()
	case store.Lost(err, store.LoginTaken):
		return nil, problem.Conflict("user_exists", "This address is already the login of an account: sign in with it, or reset its password.")
	case store.Lost(err, store.UnitGone), store.Lost(err, store.RoleGone):
		return nil, problem.Conflict("unit_gone", "A unit or role of the invitation no longer exists; ask for a new invitation.")
	case err != nil:
		return nil, err
	}
	s.tellInviter(ctx, inviter, org, u)
	return op.Answer, nil
}

// join accepts an invitation to an address that is a person's login
// already: the person signs in with its password (counted as a login
// attempt), and the invitation becomes a new membership of the person,
// with the person's credentials: no second account, no second password.
// The names default to those of the membership the password was checked
// on. Then the organization's steps, as for a new account.
func (s *Service) join(ctx context.Context, in AcceptRequest, c store.Credential, inv store.Invitation, org store.Org, inviter *store.User,
	permList []string, g store.LoginGuard, client session.Client) (any, error) {
	// The login may be the one a concurrent acceptance of this link just
	// made (in the transaction that used the link): read the link again,
	// after the guard, so that such a race is told link_used, and no
	// password is checked for it.
	if _, err := s.credential(ctx, in.Token); err != nil {
		return nil, err
	}
	var v validate.Errors
	if in.Session == "" && in.Browser == "" {
		v.Required("password", in.Password, 1024)
	} else if in.Password != "" {
		v.Add("password", "must be left out with a session (Authorization: Bearer)")
	}
	if in.FirstName != "" || in.LastName != "" {
		v.Name("first_name", in.FirstName, 100)
		v.Name("last_name", in.LastName, 100)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	known, err := s.signedIn(ctx, in, inv.Email, g.Person, client)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetPerson(ctx, g.Person)
	if err != nil {
		return nil, err
	}
	if known.Person != p.ID {
		return nil, problem.Conflict("conflict", "The account changed meanwhile; try again.")
	}
	first, last := strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	if first == "" && last == "" {
		first, last = known.FirstName, known.LastName
	}
	now := s.now().UTC()
	u := store.User{Org: inv.Org, OrgCode: org.Code, ID: store.NewID("usr_"), Kind: store.Person, Email: p.Email,
		Person: p.ID, FirstName: first, LastName: last, Language: inv.Language,
		Role: inv.Role, Permissions: permList, Status: store.Active, Units: inv.Units, AllUnits: inv.AllUnits, UnitKinds: inv.UnitKinds,
		PasswordHash: p.PasswordHash, RequirePasswordChange: p.RequirePasswordChange, MFA: p.MFA, Created: now, Updated: now}
	op, err := s.sessions.Next(ctx, u, org, client, "")
	if err != nil {
		return nil, err
	}
	a := store.Audit{Org: inv.Org, Time: now, Actor: u.ID, Via: "invitation:" + inv.ID, Action: "invitation.accept",
		Target: "user:" + u.ID, Fields: []string{"membership", "names", "role", "units"}}
	err = s.store.JoinInvitation(ctx, inv, inviter, p, g, u, op.Next, a)
	switch {
	case store.Lost(err, store.RoleChanged), store.Lost(err, store.PersonChanged):
		return nil, problem.Conflict("conflict", "The invitation or the account changed meanwhile; try again.")
	case store.Lost(err, store.UserChanged):
		return nil, inviterGone()
	case store.Lost(err, store.LinkUsed):
		return nil, errUsedLink()
	case store.Lost(err, store.InvitationChanged):
		return nil, errUnknownLink()
	case store.Lost(err, store.LoginTaken):
		return nil, problem.Conflict("member_exists", "You are a member of this organization already: sign in.")
	case store.Lost(err, store.OwnerChanged):
		return nil, errUnknownLink()
	case store.Lost(err, store.UnitGone), store.Lost(err, store.RoleGone):
		return nil, problem.Conflict("unit_gone", "A unit or role of the invitation no longer exists; ask for a new invitation.")
	case err != nil:
		return nil, err
	}
	s.tellInviter(ctx, inviter, org, u)
	return op.Answer, nil
}

// signedIn returns the membership that proves the invited person signs
// in: the one the password was checked on (as a login), or the one of the
// session in.Session, which must be a session of that person, in any of
// its organizations. An API key, a service user's session, a session of
// another person are refused.
func (s *Service) signedIn(ctx context.Context, in AcceptRequest, email, person string, client session.Client) (store.User, error) {
	if in.Browser != "" {
		b, ok, err := s.sessions.Browser(ctx, in.Browser)
		if err != nil {
			return store.User{}, err
		}
		if !ok {
			return store.User{}, problem.New(http.StatusUnauthorized, "invalid_token", "The browser's session is unknown, expired or ended.")
		}
		return invitedPerson(b.User, person)
	}
	if in.Session == "" {
		return s.sessions.Verify(ctx, email, in.Password, client)
	}
	p, ok, err := s.authorizer.Principal(ctx, in.Session, token.Access, token.APIKey)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		return store.User{}, problem.New(http.StatusUnauthorized, "invalid_token", "The session is unknown, expired or ended.")
	}
	if p.Credential != principal.Session || p.Kind != string(store.Person) {
		return store.User{}, notTheInvitedPerson()
	}
	u, err := s.store.GetUser(ctx, p.Org, p.User)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, notTheInvitedPerson()
	}
	if err != nil {
		return store.User{}, err
	}
	return invitedPerson(u, person)
}

// invitedPerson is u when it is an active membership of person.
func invitedPerson(u store.User, person string) (store.User, error) {
	if u.Kind != store.Person || u.Person == "" || u.Person != person || u.Status != store.Active {
		return store.User{}, notTheInvitedPerson()
	}
	return u, nil
}

func notTheInvitedPerson() *problem.Problem {
	return problem.New(http.StatusForbidden, "not_invited_person",
		"Only a session of the person whose login is the invited address accepts this invitation; sign in as that person, or give the password.")
}

// tellInviter mails the inviter that u joined, when the inviter wants it
// (notices.InvitationAccepted), still is active with an e-mail, and the
// mail limits let it go. The account exists already: a mail that cannot
// go is logged (mail.Notifier) and the acceptance stands.
func (s *Service) tellInviter(ctx context.Context, inviter *store.User, org store.Org, u store.User) {
	if inviter == nil || inviter.Status != store.Active || inviter.Email == "" ||
		!notices.Wants(*inviter, notices.InvitationAccepted) ||
		!s.mails.Quietly(ctx, ratelimit.Mail{Org: u.Org, User: u.ID, To: inviter.Email, Notice: true}) {
		return
	}
	lang := inviter.Language
	if lang == "" {
		lang = org.Language
	}
	role, err := s.roleName(ctx, u.Org, u.Role, lang)
	if err != nil {
		role = u.Role
	}
	s.mail.Notify(ctx, mail.InvitationAccepted, lang, inviter.Email, mail.Data{
		Org: org.Name, Name: displayName(*inviter),
		Member: strings.TrimSpace(u.FirstName + " " + u.LastName), NewEmail: u.Email, Role: role,
		Link: s.appURL})
}

// displayName is how a user is named in a mail: its names, else its
// address.
func displayName(u store.User) string {
	if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
		return name
	}
	return u.Email
}

func inviterGone() *problem.Problem {
	return problem.Conflict("inviter_gone", "Whoever sent this invitation can no longer invite; ask for a new invitation.")
}

// inviter reads the user who sent inv and checks that it may, now, grant
// perms: it is still active and holds invitations:write and each of them.
// An organization's first owner is invited by the system: a nil user. In
// the same call it reads the invited address's login guard (found when
// the address is a login already).
func (s *Service) inviter(ctx context.Context, inv store.Invitation, perms []string) (*store.User, store.LoginGuard, bool, error) {
	id := ""
	if strings.HasPrefix(inv.InvitedBy, "usr_") {
		id = inv.InvitedBy
	}
	u, g, found, err := s.store.UserAndLogin(ctx, inv.Org, id, store.EmailLogin(inv.Email))
	if err != nil || id == "" {
		return nil, g, found, err
	}
	if u == nil || u.Status != store.Active {
		return nil, g, found, inviterGone()
	}
	held := func(p string) bool { return slices.Contains(u.Permissions, p) }
	if !held(string(permission.InvitationsWrite)) || (inv.Role == permission.RoleOwner && u.Role != permission.RoleOwner) {
		return nil, g, found, inviterCannotGrant()
	}
	for _, p := range perms {
		if !held(p) {
			return nil, g, found, inviterCannotGrant()
		}
	}
	return u, g, found, nil
}

func inviterCannotGrant() *problem.Problem {
	return problem.New(http.StatusForbidden, "inviter_cannot_grant",
		"Whoever sent this invitation may no longer grant its role; ask for a new invitation.")
}
