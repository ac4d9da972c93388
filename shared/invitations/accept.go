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
	Token     string `json:"token"`
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
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
	inviter, err := s.inviter(ctx, inv, permList)
	if err != nil {
		return session.Tokens{}, err
	}
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
// An organization's first owner is invited by the system: nil, nil.
func (s *Service) inviter(ctx context.Context, inv store.Invitation, perms []string) (*store.User, error) {
	if !strings.HasPrefix(inv.InvitedBy, "usr_") {
		return nil, nil
	}
	u, err := s.store.GetUser(ctx, inv.Org, inv.InvitedBy)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.Active) {
		return nil, inviterGone()
	}
	if err != nil {
		return nil, err
	}
	held := func(p string) bool { return slices.Contains(u.Permissions, p) }
	if !held(string(permission.InvitationsWrite)) || (inv.Role == permission.RoleOwner && u.Role != permission.RoleOwner) {
		return nil, inviterCannotGrant()
	}
	for _, p := range perms {
		if !held(p) {
			return nil, inviterCannotGrant()
		}
	}
	return &u, nil
}

func inviterCannotGrant() *problem.Problem {
	return problem.New(http.StatusForbidden, "inviter_cannot_grant",
		"Whoever sent this invitation may no longer grant its role; ask for a new invitation.")
}
