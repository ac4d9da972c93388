// Package invitations holds the rules of inviting people by e-mail: the
// invitation with its copyable link, its renewal, revocation and expiry,
// and its acceptance, which creates the account and signs it in.
package invitations

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/authorizer"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// TTL is how long an invitation link works.
const TTL = 7 * 24 * time.Hour

// Service applies the invitation rules.
type Service struct {
	store    *store.Store
	sessions *session.Service
	// authorizer resolves the session that accepts an invitation of an
	// existing person instead of its password.
	authorizer *authorizer.Authorizer
	mail       *mail.Notifier
	publicURL  string
	appURL     string
	params     password.Params
	links      *ratelimit.Limiter
	mails      *ratelimit.Mails
	perms      permission.Catalog
	// clients are the OpenID Connect clients an invitation may lead back
	// to (CreateRequest.ReturnTo).
	clients registry.Registry
	now     func() time.Time
}

// New returns an invitation service over the permissions of perms; links
// point at publicURL, and the notice of an accepted invitation at the app
// (appURL).
func New(s *store.Store, sessions *session.Service, a *authorizer.Authorizer, m *mail.Notifier, publicURL, appURL string, params password.Params, perms permission.Catalog, now func() time.Time) *Service {
	return &Service{store: s, sessions: sessions, authorizer: a, mail: m, publicURL: strings.TrimRight(publicURL, "/"), appURL: appURL, params: params, perms: perms,
		links: ratelimit.Links(s, now), mails: ratelimit.NewMails(s, now), now: now}
}

// WithClients returns s with the OpenID Connect clients whose registered
// URIs an invitation may lead back to once accepted.
func (s *Service) WithClients(r registry.Registry) *Service {
	c := *s
	c.clients = r
	return &c
}

// Invitation is an invitation as the API shows it.
type Invitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Units     []string  `json:"units"`
	AllUnits  bool      `json:"all_units"`
	UnitKinds []string  `json:"unit_kinds" doc:"Kinds of unit all of whose units the user will have."`
	Language  string    `json:"language" enum:"fr|en|nl"`
	Status    string    `json:"status" enum:"pending|accepted|revoked|expired"`
	InvitedBy string    `json:"invited_by"`
	Created   time.Time `json:"created"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"user_id,omitempty" doc:"The account made by accepting it."`
	ClientID  string    `json:"client_id,omitempty" doc:"The application the invitation leads back to once accepted."`
	ReturnTo  string    `json:"return_to,omitempty" doc:"Where the invitation page leads once accepted: a registered URI of client_id."`
}

// WithLink is an invitation with a fresh link to copy, and whether the
// e-mail carrying it was sent.
type WithLink struct {
	Invitation
	Link     string `json:"link" doc:"The invitation link, to copy; the only place it is shown."`
	MailSent bool   `json:"mail_sent" doc:"Whether the e-mail was sent (false when mail is off or failed: share the link)."`
}

func (s *Service) view(i store.Invitation) Invitation {
	units, kinds := i.Units, i.UnitKinds
	if units == nil {
		units = []string{}
	}
	if kinds == nil {
		kinds = []string{}
	}
	return Invitation{ID: i.ID, Email: i.Email, Role: i.Role, Units: units, AllUnits: i.AllUnits, UnitKinds: kinds, Language: i.Language,
		Status: i.State(s.now()), InvitedBy: i.InvitedBy, Created: i.Created, ExpiresAt: i.ExpiresAt, UserID: i.User,
		ClientID: i.Client, ReturnTo: i.ReturnTo}
}

// CreateRequest is the body of POST /v1/invitations.
type CreateRequest struct {
	Email    string   `json:"email"`
	Role     string   `json:"role"`
	Units    []string `json:"units,omitempty"`
	AllUnits bool     `json:"all_units,omitempty"`
	// UnitKinds give every unit of these kinds, present and future.
	UnitKinds []string `json:"unit_kinds,omitempty" doc:"Every unit of these kinds (company, establishment, site, level), present and future."`
	Language  string   `json:"language,omitempty" enum:"fr|en|nl" doc:"Of the e-mail and the account; the organization's by default."`
	// ClientID and ReturnTo lead the invitation page back to the
	// application that invited, once accepted.
	ClientID string `json:"client_id,omitempty" doc:"An OpenID Connect client of the deployment (OIDC_CLIENTS), with return_to."`
	ReturnTo string `json:"return_to,omitempty" doc:"A registered redirect or post-logout URI of client_id: where the page leads once the invitation is accepted."`
}

// link is the invitation link of inv with secret: the invitation page,
// and the application it leads back to.
func (s *Service) link(inv store.Invitation, secret string) string {
	q := url.Values{"token": {secret}}
	registry.Back{Client: inv.Client, URI: inv.ReturnTo}.Set(q)
	return s.publicURL + "/invite?" + q.Encode()
}

func auditOf(p principal.Principal, now time.Time, action, id string, fields ...string) store.Audit {
	return store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: action, Target: "invitation:" + id, Fields: fields}
}

// Create invites an address. One pending invitation per address per
// organization; an address that is a user's login cannot be invited. A
// caller whose role is limited to its units invites only into them.
func (s *Service) Create(ctx context.Context, p principal.Principal, in CreateRequest) (WithLink, error) {
	var v validate.Errors
	email, _ := v.Email("email", in.Email)
	if _, msg := s.clients.Back(in.ClientID, in.ReturnTo); msg != "" {
		v.Add("return_to", "%s", msg)
	}
	if in.AllUnits && len(in.Units) > 0 {
		v.Add("units", "must be empty when all_units is true")
	}
	seen := map[string]bool{}
	for _, u := range in.Units {
		if !strings.HasPrefix(u, "unt_") || len(u) > 64 || seen[u] {
			v.Add("units", "must list distinct unit ids")
			break
		}
		seen[u] = true
	}
	if len(in.Units) > 50 {
		v.Add("units", "must list at most 50 units (or use all_units)")
	}
	if in.AllUnits && len(in.UnitKinds) > 0 {
		v.Add("unit_kinds", "must be empty when all_units is true")
	}
	seenKind := map[string]bool{}
	for _, k := range in.UnitKinds {
		if !store.ValidUnitKind(k) || seenKind[k] {
			v.Add("unit_kinds", "must list distinct kinds among company, establishment, site, level")
			break
		}
		seenKind[k] = true
	}
	if in.Language != "" && !language.Valid(in.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return WithLink{}, err
	}
	roleName, err := s.checkRole(ctx, p, sc, in.Role, &v)
	if err != nil {
		return WithLink{}, err
	}
	if err := v.Err(); err != nil {
		return WithLink{}, err
	}
	if err := sc.Gives("", in.Units, in.AllUnits, in.UnitKinds); err != nil {
		return WithLink{}, err
	}
	ic, err := s.store.InvitationContextOf(ctx, p.Org, email)
	if err != nil {
		return WithLink{}, err
	}
	if ic.UserExists {
		return WithLink{}, problem.Conflict("user_exists", "A user with this e-mail address already exists.")
	}
	if ic.Pending != nil && ic.Pending.State(s.now()) == store.Pending {
		return WithLink{}, problem.Conflict("invitation_pending", "A pending invitation to this address exists; renew or resend it.")
	}
	lang := in.Language
	if lang == "" {
		lang = ic.Org.Language
	}
	now := s.now().UTC()
	secret, hash, err := token.New(token.Invite)
	if err != nil {
		return WithLink{}, err
	}
	inv := store.Invitation{Org: p.Org, ID: store.NewID("inv_"), Email: email, Role: in.Role, Units: in.Units,
		AllUnits: in.AllUnits, UnitKinds: in.UnitKinds, Language: lang, Status: store.Pending, InvitedBy: p.User, TokenHash: hash,
		Created: now, ExpiresAt: now.Add(TTL), Client: in.ClientID, ReturnTo: in.ReturnTo}
	cred := store.NewCredential(hash, store.InviteToken, p.Org, "", now, inv.ExpiresAt)
	cred.Ref = inv.ID
	takes := s.mails.Plan(ratelimit.Mail{Org: p.Org, User: p.User, To: email})
	a := auditOf(p, now, "invitation.create", inv.ID, "email", "role", "units")
	if len(inv.UnitKinds) > 0 {
		a.Fields = append(a.Fields, "unit_kinds")
	}
	if inv.ReturnTo != "" {
		a.Fields = append(a.Fields, "return_to")
	}
	err = s.store.CreateInvitation(ctx, inv, cred, ic.Pending, sc.Reach(), a, takes...)
	switch {
	case store.Lost(err, store.UserExists):
		return WithLink{}, problem.Conflict("user_exists", "A user with this e-mail address already exists.")
	case store.Lost(err, store.InvitationPending):
		return WithLink{}, problem.Conflict("invitation_pending", "A pending invitation to this address exists; renew or resend it.")
	case store.Lost(err, store.UnitGone):
		return WithLink{}, problem.Invalid(problem.FieldError{Field: "units", Message: "lists a unit that does not exist"})
	case store.Lost(err, store.LimitReached):
		return WithLink{}, s.mails.Refused(ctx, takes)
	case store.Lost(err, store.UserChanged), store.Lost(err, store.TreeChanged):
		// A unit-limited inviter's units, or the unit tree, changed since
		// its check: the invitation is not made on what may no longer hold.
		return WithLink{}, problem.Conflict("conflict", "Your units changed meanwhile; try again.")
	case err != nil:
		return WithLink{}, err
	}
	link := s.link(inv, secret)
	if name, builtIn := permission.BuiltInName(inv.Role, inv.Language); builtIn {
		roleName = name
	}
	return WithLink{Invitation: s.view(inv), Link: link, MailSent: s.send(ctx, p, ic.Org, inv, roleName, link)}, nil
}

// checkRole refuses a role that does not exist, the owner role, a role
// holding a permission the inviter lacks, and one administering beyond
// the units of an inviter of scope sc limited to them; it returns a
// custom role's name.
func (s *Service) checkRole(ctx context.Context, p principal.Principal, sc scope.Scope, role string, v *validate.Errors) (string, error) {
	switch role {
	case "":
		v.Add("role", "is required")
		return "", nil
	case permission.RoleOwner:
		v.Add("role", "owner is not assigned: the owner transfers ownership")
		return "", nil
	}
	g, err := s.store.RoleGrant(ctx, s.perms, p.Org, role)
	if errors.Is(err, store.ErrNotFound) {
		v.Add("role", "is not a role of this organization")
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := sc.GivesRole(g.Permissions, g.OwnUnits); err != nil {
		return "", err
	}
	name := g.Name
	if g.BuiltIn {
		name = role
	}
	for _, x := range g.Permissions {
		if !p.Can(permission.Permission(x)) {
			return "", problem.New(http.StatusForbidden, "permission_escalation",
				fmt.Sprintf("You cannot invite with the %q permission: you do not hold it.", x))
		}
	}
	return name, nil
}

// send mails an invitation's link, naming its role role; it reports
// whether the mail went.
func (s *Service) send(ctx context.Context, p principal.Principal, org store.Org, inv store.Invitation, role, link string) bool {
	inviter := org.Name
	if u, err := s.store.GetUser(ctx, p.Org, p.User); err == nil {
		if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
			inviter = name
		} else if u.Email != "" {
			inviter = u.Email
		}
	}
	return s.mail.Notify(ctx, mail.Invitation, inv.Language, inv.Email, inviteData(org, inv, inviter, role, link))
}

func inviteData(org store.Org, inv store.Invitation, inviter, role, link string) mail.Data {
	return mail.Data{Org: org.Name, Inviter: inviter, Role: role, Link: link,
		Expires: inv.ExpiresAt.Format("2006-01-02 15:04 UTC")}
}

// get reads an invitation of p's organization for a change: one outside
// the units of a caller whose role is limited to them is not found
// either, and one whose role administers beyond them is refused (403
// unit_limited_role).
func (s *Service) get(ctx context.Context, p principal.Principal, id string) (store.Invitation, error) {
	inv, err := s.store.GetInvitation(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return inv, problem.NotFound("No such invitation.")
	}
	if err != nil {
		return inv, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil || !sc.Limited() {
		return inv, err
	}
	if !sc.Reaches("", inv.Units, inv.AllUnits, inv.UnitKinds) {
		return store.Invitation{}, problem.NotFound("No such invitation.")
	}
	perms, _, err := s.permissionsOf(ctx, p.Org, inv.Role, inv.Language)
	if err != nil {
		return inv, err
	}
	limited, err := scope.Limited(ctx, s.store, p.Org, inv.Role)
	if err != nil {
		return inv, err
	}
	return inv, sc.GivesRole(perms, limited)
}

func notPending(inv store.Invitation, now time.Time) *problem.Problem {
	return problem.Conflict("invitation_"+inv.State(now), "This invitation is "+inv.State(now)+", not pending.")
}

// Revoke closes a pending (or expired) invitation; its link stops working.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, id string) error {
	inv, err := s.get(ctx, p, id)
	if err != nil {
		return err
	}
	if inv.Status != store.Pending {
		return notPending(inv, s.now())
	}
	// Like a new link, revoking is for a caller who could invite with the
	// invitation's role: a lower role does not undo a higher one's invitation.
	perms, _, err := s.permissionsOf(ctx, p.Org, inv.Role, inv.Language)
	if err != nil {
		return err
	}
	if err := p.ActOn("", inv.Role, perms); err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(ctx, inv, auditOf(p, s.now(), "invitation.revoke", inv.ID)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return problem.Conflict("conflict", "The invitation changed meanwhile; read it again.")
		}
		return err
	}
	return nil
}

// Renew gives a pending or expired invitation a new link, valid TTL from
// now; the old link stops working. With send, the e-mail goes again. The
// caller must be able to invite with the invitation's role.
func (s *Service) Renew(ctx context.Context, p principal.Principal, id string, send bool) (WithLink, error) {
	inv, err := s.get(ctx, p, id)
	if err != nil {
		return WithLink{}, err
	}
	if inv.Status != store.Pending {
		return WithLink{}, notPending(inv, s.now())
	}
	// Whoever holds the new link may accept it: only a caller that could
	// invite with the invitation's role gets one.
	perms, roleName, err := s.permissionsOf(ctx, p.Org, inv.Role, inv.Language)
	if err != nil {
		return WithLink{}, err
	}
	if err := p.ActOn("", inv.Role, perms); err != nil {
		return WithLink{}, err
	}
	if send {
		if err := s.mails.Take(ctx, ratelimit.Mail{Org: p.Org, User: p.User, To: inv.Email}); err != nil {
			return WithLink{}, err
		}
	}
	now := s.now().UTC()
	secret, hash, err := token.New(token.Invite)
	if err != nil {
		return WithLink{}, err
	}
	cred := store.NewCredential(hash, store.InviteToken, p.Org, "", now, now.Add(TTL))
	cred.Ref = inv.ID
	action := "invitation.link"
	if send {
		action = "invitation.resend"
	}
	if err := s.store.RenewInvitation(ctx, inv, cred, now.Add(TTL), auditOf(p, now, action, inv.ID, "link")); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return WithLink{}, problem.Conflict("conflict", "The invitation changed meanwhile; read it again.")
		}
		return WithLink{}, err
	}
	inv.TokenHash, inv.ExpiresAt = hash, now.Add(TTL)
	out := WithLink{Invitation: s.view(inv), Link: s.link(inv, secret)}
	if send {
		org, err := s.store.GetOrg(ctx, p.Org)
		if err != nil {
			return WithLink{}, err
		}
		out.MailSent = s.send(ctx, p, org, inv, roleName, out.Link)
	}
	return out, nil
}

// Page is one page of invitations.
type Page struct {
	Items      []Invitation `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}
