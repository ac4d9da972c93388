// Package organization holds the rules of organizations (tenants): their
// creation with an owner, and later their settings and units.
package organization

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Service applies the organization rules.
type Service struct {
	store  *store.Store
	params password.Params
	perms  permission.Catalog
	now    func() time.Time
}

// New returns an organization service; owners and admins hold every
// permission of perms.
func New(s *store.Store, params password.Params, perms permission.Catalog, now func() time.Time) *Service {
	return &Service{store: s, params: params, perms: perms, now: now}
}

// CreateInput describes a new organization and its owner.
type CreateInput struct {
	Name       string
	Code       string
	Language   string
	OwnerEmail string
	// OwnerPassword is generated when empty.
	OwnerPassword string
}

// Created is a new organization, its owner, and the owner's password in
// clear, to be shown once.
type Created struct {
	Org      store.Org
	Owner    store.User
	Password string
}

var codePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,31}$`) })

// Draft is the one rule of a new organization, whatever makes it (the
// admin command, which invites its owner, or the local stack's seed, which
// gives it one): it validates in, with the owner's password when
// withPassword, and returns the organization to write, the owner's
// e-mail normalized, and the audit event naming fields.
func Draft(in CreateInput, withPassword bool, now time.Time, fields ...string) (store.Org, string, store.Audit, error) {
	var v validate.Errors
	email := checkNew(&v, &in)
	if withPassword && in.OwnerPassword != "" && len(in.OwnerPassword) < 10 {
		v.Add("owner_password", "must be at least 10 characters")
	}
	if err := v.Err(); err != nil {
		return store.Org{}, "", store.Audit{}, err
	}
	now = now.UTC()
	o := store.Org{ID: store.NewID("org_"), Name: in.Name, Code: in.Code, Language: in.Language,
		Created: now, Updated: now}
	a := store.Audit{Time: now, Actor: "system", Via: "cli", Action: "organization.create",
		Target: "organization:" + o.ID, Fields: append([]string{"name", "code", "language"}, fields...)}
	return o, email, a, nil
}

// checkNew validates a new organization's name, code, language (English
// when empty) and owner e-mail, and returns the e-mail normalized.
func checkNew(v *validate.Errors, in *CreateInput) string {
	v.Name("name", in.Name, 200)
	if !codePattern().MatchString(in.Code) {
		v.Add("code", "must be 2 to 32 lower-case letters, digits or hyphens, starting with a letter or digit")
	}
	if in.Language == "" {
		in.Language = language.Fallback
	}
	if !language.Valid(in.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	email, _ := v.Email("owner_email", in.OwnerEmail)
	return email
}

// Create makes an organization and its owner in one transaction.
func (s *Service) Create(ctx context.Context, in CreateInput) (Created, error) {
	o, email, a, err := Draft(in, true, s.now(), "owner")
	if err != nil {
		return Created{}, err
	}
	pw := in.OwnerPassword
	if pw == "" {
		if pw, err = password.Generate(20); err != nil {
			return Created{}, err
		}
	}
	hash, err := password.Hash(pw, s.params)
	if err != nil {
		return Created{}, err
	}
	now := o.Created
	perms, _ := s.perms.BuiltIn(permission.RoleOwner)
	owner := store.User{ID: store.NewID("usr_"), Kind: store.Person, Email: email,
		Language: o.Language, Role: permission.RoleOwner, AllUnits: true,
		Permissions: permission.Strings(perms),
		Status:      store.Active, PasswordHash: hash, Created: now, Updated: now}
	o.OwnerID = owner.ID
	if err := s.store.CreateOrg(ctx, o, owner, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Created{}, problem.Conflict("already_exists",
				"The organization code or the owner's e-mail is already taken.")
		}
		return Created{}, err
	}
	return Created{Org: o, Owner: owner, Password: pw}, nil
}
