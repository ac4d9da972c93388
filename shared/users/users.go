// Package users holds the rules of an organization's users and roles:
// people with an e-mail or a username, service users, statuses, ownership
// of roles, and the admin password actions.
package users

import (
	"context"
	"errors"
	"fmt"
	"github.com/guichet/guichet/shared/exports"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Service applies the user and role rules.
type Service struct {
	store   *store.Store
	params  password.Params
	clients clients.Catalog
	perms   permission.Catalog
	links   Links
	mails   *ratelimit.Mails
	now     func() time.Time
	// exports holds exports past exportMax bytes (WithExports).
	exports   exports.Store
	exportMax int
}

// New returns a users service over the permissions of perms; links makes
// the set-password links of imported users.
func New(s *store.Store, params password.Params, catalog clients.Catalog, perms permission.Catalog, links Links, now func() time.Time) *Service {
	return &Service{store: s, params: params, clients: catalog, perms: perms, links: links, mails: ratelimit.NewMails(s, now), now: now}
}

// User is a user as the API shows it. It never holds a secret.
type User struct {
	ID                    string    `json:"id"`
	Kind                  string    `json:"kind" enum:"person|service"`
	Email                 string    `json:"email,omitempty"`
	Username              string    `json:"username,omitempty"`
	UserCode              string    `json:"user_code,omitempty"`
	Client                string    `json:"client,omitempty"`
	FirstName             string    `json:"first_name"`
	LastName              string    `json:"last_name"`
	Language              string    `json:"language" enum:"fr|en|nl"`
	Role                  string    `json:"role"`
	Status                string    `json:"status" enum:"active|inactive|pending" doc:"active: may log in; inactive: may not (deactivated); pending: created by an admin, or imported without a password, may not log in until it sets one through its link, which proves its address and activates it."`
	Units                 []string  `json:"units"`
	AllUnits              bool      `json:"all_units"`
	UnitKinds             []string  `json:"unit_kinds" doc:"Kinds of unit all of whose units, present and future, the user has."`
	DefaultUnit           string    `json:"default_unit,omitempty"`
	PasswordSet           bool      `json:"password_set" doc:"Whether the user has a password (e-mail users without one await an invitation or reset link)."`
	RequirePasswordChange bool      `json:"require_password_change"`
	Created               time.Time `json:"created"`
	Updated               time.Time `json:"updated"`
}

func view(u store.User) User {
	units, kinds := u.Units, u.UnitKinds
	if units == nil {
		units = []string{}
	}
	if kinds == nil {
		kinds = []string{}
	}
	return User{
		ID: u.ID, Kind: u.Kind, Email: u.Email, Username: u.Username, UserCode: u.Code, Client: u.Client,
		FirstName: u.FirstName, LastName: u.LastName, Language: u.Language, Role: u.Role, Status: u.Status,
		Units: units, AllUnits: u.AllUnits, UnitKinds: kinds, DefaultUnit: u.DefaultUnit, PasswordSet: u.PasswordHash != "",
		RequirePasswordChange: u.RequirePasswordChange, Created: u.Created, Updated: u.Updated,
	}
}

// Languages the product speaks.

var (
	usernamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`) })
	userCodePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{6,10}$`) })
)

// CreateRequest is the body of POST /v1/users.
type CreateRequest struct {
	Kind                  string   `json:"kind,omitempty" enum:"person|service" doc:"person (default) or service (API-only)"`
	Email                 string   `json:"email,omitempty" doc:"The login of an e-mail person; unique across the deployment."`
	Username              string   `json:"username,omitempty" doc:"The login of a username person, unique in the organization (with its code)."`
	Password              string   `json:"password,omitempty" doc:"A username person's 6-digit PIN. Not for an e-mail person, who chooses a password through the welcome link."`
	RequirePasswordChange *bool    `json:"require_password_change,omitempty" doc:"Username persons: change the PIN at next login (default true)."`
	UserCode              string   `json:"user_code,omitempty" doc:"A service user's code: 6 to 10 letters or digits, unique in the organization."`
	Client                string   `json:"client,omitempty" doc:"A service user's client application (see GET /v1/clients)."`
	Status                string   `json:"status,omitempty" enum:"active|inactive"`
	FirstName             string   `json:"first_name,omitempty" required:"kind!=service" doc:"Required of a person; optional for a service user."`
	LastName              string   `json:"last_name,omitempty" required:"kind!=service" doc:"Required of a person; optional for a service user."`
	Language              string   `json:"language,omitempty" enum:"fr|en|nl"`
	Role                  string   `json:"role"`
	Units                 []string `json:"units,omitempty"`
	AllUnits              bool     `json:"all_units,omitempty"`
	UnitKinds             []string `json:"unit_kinds,omitempty" doc:"Every unit of these kinds (company, establishment, site, level), present and future."`
	DefaultUnit           string   `json:"default_unit,omitempty" doc:"One of the user's units, or a unit of one of its unit kinds."`
}

// Created is the answer to POST /v1/users: the user, for a service user
// its generated password, shown this once, and for an e-mail person its
// welcome link.
type Created struct {
	User
	Password string `json:"password,omitempty" doc:"A service user's generated password, shown only in this answer."`
	Link     string `json:"link,omitempty" doc:"An e-mail person's welcome link, to copy (also mailed): it sets the password, proves the address and activates the user; valid 7 days, single use."`
	MailSent bool   `json:"mail_sent,omitempty" doc:"The welcome link was mailed."`
}

// roleFor resolves a role the caller wants to give (store.RoleGrant): it
// must exist, not be owner (ownership is transferred, not given), hold no
// permission the caller lacks, and, for a caller of scope sc limited to
// its units, administer no user beyond them. A role refused in v resolves
// to nothing.
func (s *Service) roleFor(ctx context.Context, p principal.Principal, sc scope.Scope, id string, v *validate.Errors) (store.Grant, error) {
	switch id {
	case permission.RoleOwner:
		v.Add("role", "owner is not assigned: the owner transfers ownership (POST /v1/organization/owner)")
		return store.Grant{}, nil
	case "":
		v.Add("role", "is required")
		return store.Grant{}, nil
	}
	g, err := s.store.RoleGrant(ctx, s.perms, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		v.Add("role", "is not a role of this organization")
		return store.Grant{}, nil
	}
	if err != nil {
		return store.Grant{}, err
	}
	if err := sc.GivesRole(g.Permissions, g.OwnUnits); err != nil {
		return store.Grant{}, err
	}
	return g, s.grantable(p, g.Permissions)
}

// grantable refuses to let p give permissions it does not hold. A
// permission the catalog no longer holds grants nothing: nobody holds it,
// and keeping it where it is stored escalates nothing.
func (s *Service) grantable(p principal.Principal, perms []string) error {
	for _, x := range s.perms.Known(perms) {
		if !p.Can(permission.Permission(x)) {
			return problem.New(http.StatusForbidden, "permission_escalation",
				fmt.Sprintf("You cannot give the %q permission: you do not hold it.", x))
		}
	}
	return nil
}

// checkUnits validates a user's units and unit kinds (the units'
// existence is checked by the write itself). It reports whether def, not
// one of units, must be a unit of one of kinds (see Service.checkUnits).
func checkUnits(v *validate.Errors, units []string, all bool, kinds []string, def string) (defOfKind bool) {
	if all && len(units) > 0 {
		v.Add("units", "must be empty when all_units is true")
	}
	if all && len(kinds) > 0 {
		v.Add("unit_kinds", "must be empty when all_units is true")
	}
	seenKind := map[string]bool{}
	for _, k := range kinds {
		if !store.ValidUnitKind(k) || seenKind[k] {
			v.Add("unit_kinds", "must list distinct kinds among company, establishment, site, level")
			break
		}
		seenKind[k] = true
	}
	seen := map[string]bool{}
	for _, u := range units {
		if !strings.HasPrefix(u, "unt_") || len(u) > 64 || seen[u] {
			v.Add("units", "must list distinct unit ids")
			break
		}
		seen[u] = true
	}
	if len(units) > 50 {
		v.Add("units", "must list at most 50 units (or use all_units)")
	}
	if def != "" && !all && !seen[def] {
		if len(kinds) > 0 {
			return true
		}
		v.Add("default_unit", "must be one of the user's units")
	}
	return false
}

// checkUnits is checkUnits with the default unit of a user with unit
// kinds checked (see defaultOfKind).
func (s *Service) checkUnits(ctx context.Context, org string, v *validate.Errors, units []string, all bool, kinds []string, def string) error {
	if !checkUnits(v, units, all, kinds, def) {
		return nil
	}
	return s.defaultOfKind(ctx, org, v, kinds, def)
}

// defaultOfKind records an error unless def is a unit of org of one of
// kinds: one GetItem.
func (s *Service) defaultOfKind(ctx context.Context, org string, v *validate.Errors, kinds []string, def string) error {
	if strings.HasPrefix(def, "unt_") && len(def) <= 64 {
		unit, err := s.store.GetUnit(ctx, org, def)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && slices.Contains(kinds, unit.Kind) {
			return nil
		}
	}
	v.Add("default_unit", "must be one of the user's units, or a unit of one of its unit kinds")
	return nil
}

// draft is a user to create: a CreateRequest, with the hash an import
// brings instead of a password.
type draft struct {
	CreateRequest
	// Imported marks a row of an import: persons may be imported inactive,
	// and a password comes as PasswordHash, never in clear.
	Imported     bool
	PasswordHash string
}

// build applies the rules of a new user, shared by POST /v1/users and
// imports, to d: every broken rule is recorded in v. It returns the user,
// without its role (see assign), and the password to hash: the one given,
// or a service user's generated one.
func build(org store.Org, d draft, catalog clients.Catalog, v *validate.Errors) (store.User, string, error) {
	in := d.CreateRequest
	kind := in.Kind
	if kind == "" {
		kind = store.Person
	}
	if kind != store.Person && kind != store.Service {
		v.Add("kind", "must be person or service")
	}
	u := store.User{Org: org.ID, OrgCode: org.Code, ID: store.NewID("usr_"), Kind: kind,
		Language: in.Language, Status: store.Active, Units: in.Units, AllUnits: in.AllUnits,
		UnitKinds: in.UnitKinds, DefaultUnit: in.DefaultUnit}
	if u.Language == "" {
		u.Language = org.Language
	}
	if !language.Valid(u.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	v.OptionalName("first_name", in.FirstName, 100)
	v.OptionalName("last_name", in.LastName, 100)
	u.FirstName, u.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	// A default unit of one of the kinds is checked by the caller: against
	// the units an import reads once, or with one GetItem (Service.checkUnits).
	checkUnits(v, in.Units, in.AllUnits, in.UnitKinds, in.DefaultUnit)
	if d.Imported {
		if d.PasswordHash != "" {
			if err := password.CheckHash(d.PasswordHash); err != nil {
				v.Add("password_hash", "must be an argon2id (PHC), bcrypt ($2a$, $2b$, $2y$, cost at most 14) or scrypt ($scrypt$ln=…,r=…,p=…) hash within limits")
			}
			u.PasswordHash = d.PasswordHash
		}
		if in.Password != "" {
			v.Add("password", "is not imported in clear; give a password_hash")
		}
	}
	var pw string
	switch kind {
	case store.Person:
		if in.UserCode != "" || in.Client != "" {
			v.Add("user_code", "is for service users only")
		}
		if d.Imported {
			u.Status = importedStatus(v, in.Status, d.PasswordHash != "", in.Email != "")
		} else if in.Status != "" && in.Status != store.Active {
			v.Add("status", "a new person is active; deactivate it afterwards")
		}
		v.Name("first_name", in.FirstName, 100)
		v.Name("last_name", in.LastName, 100)
		switch {
		case in.Email != "" && in.Username != "":
			v.Add("username", "give an e-mail or a username, not both")
		case in.Email != "":
			// The address is a login only once its holder proves it: by
			// the welcome link (which sets the password), a reset link,
			// or the code mailed at an imported person's first login.
			u.Email, _ = v.Email("email", in.Email)
			u.Unproved = true
			if !d.Imported {
				u.Status = store.UserPending
				if in.Password != "" {
					v.Add("password", "is chosen by the person, through the welcome link mailed to the address (and returned as link)")
				}
			}
			if in.RequirePasswordChange != nil {
				v.Add("require_password_change", "is for username users only")
			}
		case in.Username != "":
			u.Username = strings.ToLower(in.Username)
			if !usernamePattern().MatchString(u.Username) {
				v.Add("username", "must be 3 to 32 letters, digits, dots, hyphens or underscores")
			}
			if d.Imported {
				// An imported PIN is the user's own already: no change asked.
				u.RequirePasswordChange = in.RequirePasswordChange != nil && *in.RequirePasswordChange
				break
			}
			password.Check(v, "password", in.Password, u.Username, true)
			pw = in.Password
			u.RequirePasswordChange = in.RequirePasswordChange == nil || *in.RequirePasswordChange
		default:
			v.Add("email", "give an e-mail or a username")
		}
	case store.Service:
		if in.Email != "" || in.Username != "" || in.Password != "" || in.RequirePasswordChange != nil {
			v.Add("kind", "a service user has a user code and a generated password only")
		}
		if !userCodePattern().MatchString(in.UserCode) {
			v.Add("user_code", "must be 6 to 10 letters or digits")
		}
		u.Code = strings.ToUpper(in.UserCode)
		if _, ok := catalog.Find(in.Client); !ok {
			v.Add("client", "must be a client application of the catalog (GET /v1/clients)")
		}
		u.Client = in.Client
		switch in.Status {
		case "", store.Active:
		case store.Inactive:
			u.Status = store.Inactive
		default:
			v.Add("status", "must be active or inactive")
		}
		if d.Imported {
			if d.PasswordHash == "" {
				v.Add("password_hash", "is required for a service user: it cannot receive a link")
			}
			break
		}
		var err error
		if pw, err = password.Generate(24); err != nil {
			return u, "", err
		}
	}
	return u, pw, nil
}

// importedStatus is the status of an imported person. One without a
// password hash is pending, unless imported inactive: it cannot log in
// until it sets a password through a link, which makes it active.
func importedStatus(v *validate.Errors, status string, hasHash, hasEmail bool) string {
	switch status {
	case store.Inactive:
		return store.Inactive
	case "", store.Active, store.UserPending:
		if hasHash {
			if status == store.UserPending {
				v.Add("status", "pending is for users imported without a password_hash")
			}
			return store.Active
		}
		if !hasEmail {
			v.Add("password_hash", "is required for a username user: it cannot receive a link")
		}
		return store.UserPending
	}
	v.Add("status", "must be active, inactive or pending")
	return store.Active
}

// assign gives u role, resolved to g, with the permissions g gives u (a
// service user's within its client application's scopes); a role
// requiring an e-mail cannot go to a user without one.
func assign(u *store.User, role string, g store.Grant, catalog clients.Catalog, v *validate.Errors) {
	if g.RequiresEmail && u.Email == "" {
		v.Add("role", "requires an e-mail address; this user has none")
	}
	u.Role, u.Permissions = role, g.For(*u, catalog)
}

// Create makes a user. An e-mail person is pending with an unproved
// address until it uses its welcome link, mailed and returned.
func (s *Service) Create(ctx context.Context, p principal.Principal, in CreateRequest) (Created, error) {
	// The creator's name signs the welcome mail; it comes with the
	// organization.
	uc, err := s.store.UserContextOf(ctx, p.Org, p.User)
	if err != nil {
		return Created{}, err
	}
	org := uc.Org
	var v validate.Errors
	u, pw, err := build(org, draft{CreateRequest: in}, s.clients, &v)
	if err != nil {
		return Created{}, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return Created{}, err
	}
	if u.DefaultUnit != "" && !u.AllUnits && !slices.Contains(u.Units, u.DefaultUnit) && len(u.UnitKinds) > 0 {
		if err := s.defaultOfKind(ctx, p.Org, &v, u.UnitKinds, u.DefaultUnit); err != nil {
			return Created{}, err
		}
	}
	g, err := s.roleFor(ctx, p, sc, in.Role, &v)
	if err != nil {
		return Created{}, err
	}
	assign(&u, in.Role, g, s.clients, &v)
	if err := v.Err(); err != nil {
		return Created{}, err
	}
	if err := sc.Gives("", u.Units, u.AllUnits, u.UnitKinds); err != nil {
		return Created{}, err
	}
	if pw != "" {
		if u.PasswordHash, err = password.Hash(pw, s.params); err != nil {
			return Created{}, err
		}
	}
	now := s.now().UTC()
	u.Created, u.Updated = now, now
	a := auditOf(p, now, "user.create", u.ID, "kind", "login", "names", "language", "role", "units", "status")
	if len(u.UnitKinds) > 0 {
		a.Fields = append(a.Fields, "unit_kinds")
	}
	n := store.NewUser{User: u}
	var link string
	if u.Unproved {
		l, cred, err := s.links.SetupLink(u)
		if err != nil {
			return Created{}, err
		}
		link, n.Link = l, &cred
	}
	var takes []store.Take
	if n.Link != nil {
		// The welcome mail counts like an invitation's, in the same
		// transaction: per address, per acting user and per organization.
		takes = s.mails.Plan(ratelimit.Mail{Org: p.Org, User: p.User, To: u.Email})
	}
	if err := s.store.CreateUserLink(ctx, n, a, takes...); err != nil {
		if store.Lost(err, store.LimitReached) && !store.Lost(err, store.LoginTaken) {
			return Created{}, s.mails.Refused(ctx, takes)
		}
		return Created{}, s.writeProblem(err, u)
	}
	c := Created{User: view(u), Link: link}
	if u.Kind == store.Service {
		c.Password = pw
	}
	if n.Link != nil {
		c.MailSent = s.welcome(ctx, p, uc, u, link, time.Unix(n.Link.Expires, 0))
	}
	return c, nil
}

// welcome mails u, created by the user of uc, its welcome link.
func (s *Service) welcome(ctx context.Context, p principal.Principal, uc store.UserContext, u store.User, link string, expires time.Time) bool {
	org := uc.Org
	inviter := org.Name
	if uc.Found {
		inviter = signature(uc.User, org)
	}
	var custom store.Role
	if !permission.IsBuiltIn(u.Role) {
		if r, err := s.store.GetRole(ctx, p.Org, u.Role); err == nil {
			custom = r
		}
	}
	role := roleName(u.Role, custom, u.Language)
	return s.links.SendWelcome(ctx, u, org.Name, inviter, role, link, expires)
}

// writeProblem explains a lost condition of a user write: the login is
// taken or a unit or role is gone.
func (s *Service) writeProblem(err error, u store.User) error {
	switch {
	case store.Lost(err, store.LoginTaken):
		switch {
		case u.Email != "":
			return problem.Conflict("email_taken", "A user with this e-mail address already exists.")
		case u.Code != "":
			return problem.Conflict("user_code_taken", "This user code is already used in the organization.")
		}
		return problem.Conflict("username_taken", "This username is already used in the organization.")
	case store.Lost(err, store.UnitGone), store.Lost(err, store.RoleGone):
		return problem.Invalid(problem.FieldError{Field: "units", Message: "lists a unit (or a role) that does not exist"})
	}
	return err
}

// auditOf is the audit event of an action of p on a user.
func auditOf(p principal.Principal, now time.Time, action, user string, fields ...string) store.Audit {
	via := p.Credential // "cli" for the admin command
	if p.CredentialID != "" {
		via += ":" + p.CredentialID
	}
	return store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: via,
		Action: action, Target: "user:" + user, Fields: fields}
}

// get reads a user of p's organization and p's scope: another
// organization's user, and one outside the units of a caller whose role
// is limited to them, is 404.
func (s *Service) get(ctx context.Context, p principal.Principal, id string) (store.User, scope.Scope, error) {
	u, err := s.store.GetUser(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, scope.Scope{}, noSuchUser()
	}
	if err != nil {
		return u, scope.Scope{}, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return u, sc, err
	}
	if !sc.User(u) {
		return store.User{}, sc, noSuchUser()
	}
	return u, sc, nil
}

// changeableReach is get for a change of the user (a caller limited to
// its units may not change a user administering beyond them), with what
// that caller's check read (nil when unlimited), for the change to hold it
// as its condition.
func (s *Service) changeableReach(ctx context.Context, p principal.Principal, id string) (store.User, *store.Reach, error) {
	u, sc, err := s.get(ctx, p, id)
	if err != nil {
		return u, nil, err
	}
	return u, sc.Reach(), sc.ActsOn(ctx, s.store, u)
}

func noSuchUser() *problem.Problem { return problem.NotFound("No such user.") }
