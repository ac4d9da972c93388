// Package profile holds the rules of a user's own profile (/v1/me): its
// settings, its password and e-mail (login name), its sessions and its
// two-step verification.
package profile

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/address"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/notices"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/reauth"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Config is the profile policy.
type Config struct {
	Password password.Params
	// MaxFailures wrong passwords within LockWindow (changing one's
	// password, e-mail or two-step verification) lock these actions until
	// the window ends.
	MaxFailures int
	LockWindow  time.Duration
	// EmailChangeTTL is how long an e-mail change link works.
	EmailChangeTTL time.Duration
}

// DefaultConfig is the policy unless configured otherwise.
func DefaultConfig() Config {
	return Config{Password: password.Default, MaxFailures: 5, LockWindow: 15 * time.Minute, EmailChangeTTL: 24 * time.Hour}
}

// Service serves the caller's profile.
type Service struct {
	store     *store.Store
	mfa       *mfa.Service
	mail      *mail.Notifier
	publicURL string
	cfg       Config
	links     *ratelimit.Limiter
	reauth    *reauth.Checker
	mails     *ratelimit.Mails
	now       func() time.Time
}

// New returns a profile service; links in mail point at publicURL.
func New(s *store.Store, m *mfa.Service, n *mail.Notifier, publicURL string, cfg Config, now func() time.Time) *Service {
	return &Service{store: s, mfa: m, mail: n, publicURL: strings.TrimRight(publicURL, "/"), cfg: cfg,
		links:  ratelimit.Links(s, now),
		mails:  ratelimit.NewMails(s, now),
		reauth: reauth.New(s, m, reauth.Config{Password: cfg.Password, MaxFailures: cfg.MaxFailures, LockWindow: cfg.LockWindow}, now),
		now:    now}
}

// OrgRef names the organization a user belongs to.
type OrgRef struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// MFAStatus says whether two-step verification is on.
type MFAStatus struct {
	Enabled bool       `json:"enabled"`
	Since   *time.Time `json:"since,omitempty"`
	// Required is true when the organization requires it of the user's role.
	Required bool `json:"required" doc:"The organization requires it of your role: it cannot be turned off"`
}

// Me is the caller's own user.
type Me struct {
	ID            string                  `json:"id"`
	Kind          string                  `json:"kind"`
	Login         string                  `json:"login" doc:"The login name: the e-mail, or the username (with the organization code); read-only here, see POST /v1/me/email"`
	Email         string                  `json:"email,omitempty"`
	Username      string                  `json:"username,omitempty"`
	FirstName     string                  `json:"first_name"`
	LastName      string                  `json:"last_name"`
	Language      string                  `json:"language" enum:"fr|en|nl" doc:"Language of the e-mails one gets"`
	Role          string                  `json:"role"`
	Status        string                  `json:"status"`
	Organization  OrgRef                  `json:"organization"`
	StartAddress  *address.Address        `json:"start_address,omitempty" doc:"Default start address"`
	DefaultRoute  *Route                  `json:"default_route,omitempty"`
	WorkingHours  WorkingHours            `json:"working_hours"`
	Notifications map[string]Notification `json:"notifications" doc:"Every event type of the catalog with its switches"`
	MFA           MFAStatus               `json:"mfa"`
	// Principal is what the caller's credential may do, as the authorizer
	// hands it to the application's routes (access.Principal, versioned).
	Principal access.Principal `json:"principal" doc:"The caller's principal: organization, user, kind, role, permissions, units and credential, in the shape the authorizer passes to the application (version 1)"`
}

func login(u store.User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Code != "":
		return u.Code
	}
	return u.Username
}

func view(u store.User, o store.Org) Me {
	me := Me{
		ID: u.ID, Kind: u.Kind, Login: login(u), Email: u.Email, Username: u.Username,
		FirstName: u.FirstName, LastName: u.LastName, Language: u.Language,
		Role: u.Role, Status: u.Status,
		Organization:  OrgRef{ID: o.ID, Code: o.Code, Name: o.Name},
		WorkingHours:  decodeHours(""),
		Notifications: notificationsView(u),
		MFA:           MFAStatus{Enabled: u.MFAEnabled(), Since: u.MFASince, Required: mfa.Required(o, u)},
	}
	if p := u.Prefs; p != nil {
		me.StartAddress = address.View(p.StartAddress)
		if p.RouteFrom != nil && p.RouteTo != nil {
			me.DefaultRoute = &Route{From: *address.View(p.RouteFrom), To: *address.View(p.RouteTo)}
		}
		me.WorkingHours = decodeHours(p.Hours)
	}
	return me
}

// context reads the principal's user, organization and counters in one
// call; a user gone is a 404.
func (s *Service) context(ctx context.Context, p principal.Principal, counters ...string) (store.UserContext, error) {
	uc, err := s.store.UserContextOf(ctx, p.Org, p.User, counters...)
	if err == nil && !uc.Found {
		return uc, problem.NotFound("The user no longer exists.")
	}
	return uc, err
}

// Get returns the principal's own user: one BatchGetItem.
func (s *Service) Get(ctx context.Context, p principal.Principal) (Me, error) {
	uc, err := s.context(ctx, p)
	if err != nil {
		return Me{}, err
	}
	return s.me(ctx, p, uc.User, uc.Org)
}

// me is the view of the caller's user u with its principal.
func (s *Service) me(ctx context.Context, p principal.Principal, u store.User, o store.Org) (Me, error) {
	me := view(u, o)
	var err error
	if me.Principal, err = s.principal(ctx, p, u, o); err != nil {
		return Me{}, err
	}
	return me, nil
}

// principal is p's public shape with the names the credential does not
// carry: the organization's, and the role's (a custom role's is one more
// read).
func (s *Service) principal(ctx context.Context, p principal.Principal, u store.User, o store.Org) (access.Principal, error) {
	a := p.Access()
	a.Organization.Name = o.Name
	if a.Organization.Code == "" {
		a.Organization.Code = o.Code // a credential issued before it carried the code
	}
	if !a.Units.All && (len(a.Units.List) > 0 || len(a.Units.Kinds) > 0) {
		// The authorizer's context carries the units as given; the answer
		// also expands them (descendants, units of the kinds): one Query.
		expanded, err := s.store.ExpandedUnits(ctx, p.Org, a.Units.List, a.Units.Kinds)
		if err != nil {
			return a, err
		}
		a.Units.Expanded = expanded
	}
	if name, ok := permission.BuiltInName(a.Role.ID, u.Language); ok {
		a.Role.Name = name
		return a, nil
	}
	r, err := s.store.GetRole(ctx, p.Org, a.Role.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted since: the credential's permissions still say what it may do.
	case err != nil:
		return a, err
	default:
		a.Role.Name, a.Role.OwnUnits = r.Name, r.OwnUnits
	}
	return a, nil
}

// UpdateMeRequest is the body of PATCH /v1/me: only the fields present
// change.
type UpdateMeRequest struct {
	FirstName    *string          `json:"first_name,omitempty"`
	LastName     *string          `json:"last_name,omitempty"`
	Language     *string          `json:"language,omitempty" enum:"fr|en|nl"`
	StartAddress *address.Address `json:"start_address,omitempty" nullable:"true" doc:"null removes it"`
	DefaultRoute *Route           `json:"default_route,omitempty" nullable:"true" doc:"null removes it"`
	WorkingHours *WorkingHours    `json:"working_hours,omitempty" partial:"true" doc:"Replaces the whole week; a day left out has no hours"`
	// Notifications changes the switches of the event types named; the
	// others keep theirs.
	Notifications map[string]Notification `json:"notifications,omitempty" doc:"Switches to change, by event type; others keep theirs"`
}

// languages are the languages of e-mails.

// Update changes the fields of req present in the body (cleared lists the
// fields sent as null). Every field is validated before anything is
// written; a request that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, p principal.Principal, req UpdateMeRequest, cleared map[string]bool) (Me, error) {
	if len(req.Notifications) > 0 {
		// The switches of security notices (password changed, API key
		// expiring) are the owner's: a leaked key must not silence them.
		if err := sessionOnly(p); err != nil {
			return Me{}, err
		}
	}
	var v validate.Errors
	for _, f := range []string{"first_name", "last_name", "language", "working_hours", "notifications"} {
		if cleared[f] {
			v.Add(f, "must not be null")
		}
	}
	if req.FirstName != nil {
		v.Name("first_name", *req.FirstName, 100)
	}
	if req.LastName != nil {
		v.Name("last_name", *req.LastName, 100)
	}
	if req.Language != nil && !language.Valid(*req.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	var start, from, to store.Address
	if req.StartAddress != nil {
		start = address.Check(&v, "start_address", *req.StartAddress)
	}
	if req.DefaultRoute != nil {
		from = address.Check(&v, "default_route.from", req.DefaultRoute.From)
		to = address.Check(&v, "default_route.to", req.DefaultRoute.To)
	}
	if req.WorkingHours != nil {
		checkHours(&v, *req.WorkingHours)
	}
	for id := range req.Notifications {
		if !notices.Known(id) {
			v.Add("notifications."+id, "is not an event type; GET /v1/me lists them")
		}
	}
	if err := v.Err(); err != nil {
		return Me{}, err
	}

	uc, err := s.context(ctx, p)
	if err != nil {
		return Me{}, err
	}
	old := uc.User
	next := old
	prefs := store.Prefs{}
	if old.Prefs != nil {
		prefs = *old.Prefs
	}
	var fields []string
	change := func(field string, differs bool, apply func()) {
		if differs {
			apply()
			fields = append(fields, field)
		}
	}
	if req.FirstName != nil {
		name := strings.TrimSpace(*req.FirstName)
		change("first_name", name != next.FirstName, func() { next.FirstName = name })
	}
	if req.LastName != nil {
		name := strings.TrimSpace(*req.LastName)
		change("last_name", name != next.LastName, func() { next.LastName = name })
	}
	if req.Language != nil {
		change("language", *req.Language != next.Language, func() { next.Language = *req.Language })
	}
	switch {
	case req.StartAddress != nil:
		change("start_address", prefs.StartAddress == nil || *prefs.StartAddress != start, func() { prefs.StartAddress = &start })
	case cleared["start_address"]:
		change("start_address", prefs.StartAddress != nil, func() { prefs.StartAddress = nil })
	}
	switch {
	case req.DefaultRoute != nil:
		change("default_route", prefs.RouteFrom == nil || prefs.RouteTo == nil || *prefs.RouteFrom != from || *prefs.RouteTo != to,
			func() { prefs.RouteFrom, prefs.RouteTo = &from, &to })
	case cleared["default_route"]:
		change("default_route", prefs.RouteFrom != nil, func() { prefs.RouteFrom, prefs.RouteTo = nil, nil })
	}
	if req.WorkingHours != nil {
		hours := encodeHours(*req.WorkingHours)
		change("working_hours", hours != prefs.Hours, func() { prefs.Hours = hours })
	}
	if len(req.Notifications) > 0 {
		sw := notices.Decode(prefs.Notify)
		for id, n := range req.Notifications {
			sw[id] = n.Email
		}
		notify := notices.Encode(sw)
		change("notifications", notify != prefs.Notify, func() { prefs.Notify = notify })
	}
	if len(fields) == 0 {
		return s.me(ctx, p, old, uc.Org)
	}
	next.Prefs = nil
	if prefs != (store.Prefs{}) {
		next.Prefs = &prefs
	}
	now := s.now().UTC()
	next.Updated = now
	a := event(p, now, "user.profile", old.ID, fields)
	if err := s.store.ChangeUser(ctx, store.UserChange{Old: old, New: &next, Audit: a}); err != nil {
		return Me{}, err
	}
	next.Version++
	return s.me(ctx, p, next, uc.Org)
}

// event is the audit event of an action the principal p did to its own user.
func event(p principal.Principal, now time.Time, action, user string, fields []string) store.Audit {
	return store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: action, Target: "user:" + user, Fields: fields}
}

// sessionOnly refuses principals that are not a signed-in person's
// session (an API key): a password, an e-mail or a second factor is not an
// integration's business.
func sessionOnly(p principal.Principal) error {
	if p.Credential != principal.Session {
		return problem.New(http.StatusForbidden, "session_required", "Only a signed-in session may do this, not an API key.")
	}
	return nil
}

// notFound is the answer for a user gone meanwhile.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("The user no longer exists.")
	}
	return err
}
