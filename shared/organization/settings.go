package organization

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/guichet/guichet/shared/address"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Contact is the organization's referent: the person to reach about it.
type Contact struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty" doc:"Digits, spaces and + ( ) . - only, such as +33 1 23 45 67 89"`
}

// LogoInfo describes the organization's logo; GET /v1/organization/logo
// returns the image.
type LogoInfo struct {
	ContentType string    `json:"content_type" enum:"image/png|image/jpeg|image/svg+xml"`
	Size        int       `json:"size" doc:"In bytes"`
	ETag        string    `json:"etag"`
	Updated     time.Time `json:"updated"`
}

// Organization is the caller's organization.
type Organization struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Code       string           `json:"code" doc:"Chosen at creation; immutable"`
	Language   string           `json:"language" enum:"fr|en|nl" doc:"Default language"`
	OwnerID    string           `json:"owner_id" doc:"The owner (referent) user"`
	Contact    *Contact         `json:"contact,omitempty"`
	HeadOffice *address.Address `json:"head_office,omitempty"`
	Logo       *LogoInfo        `json:"logo,omitempty"`
	// MFARequiredFor lists the roles whose users must use two-step
	// verification: at login, such a user without it must enroll first.
	MFARequiredFor []string  `json:"mfa_required_for" doc:"Roles (ids) whose users must use two-step verification"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// UpdateOrganizationRequest is the body of PATCH /v1/organization: only
// the fields present change; contact and head_office are replaced whole.
type UpdateOrganizationRequest struct {
	Name     *string `json:"name,omitempty"`
	Language *string `json:"language,omitempty" enum:"fr|en|nl"`
	// Code is accepted only to be refused with a clear message.
	Code       *string          `json:"code,omitempty" doc:"Immutable: a request naming it is refused (422)"`
	Contact    *Contact         `json:"contact,omitempty"`
	HeadOffice *address.Address `json:"head_office,omitempty"`
	// MFARequiredFor replaces the roles requiring two-step verification.
	MFARequiredFor *[]string `json:"mfa_required_for,omitempty" doc:"Roles (built-in or custom ids) whose users must use two-step verification; [] requires it of nobody"`
}

func orgView(o store.Org) Organization {
	v := Organization{ID: o.ID, Name: o.Name, Code: o.Code, Language: o.Language, OwnerID: o.OwnerID,
		MFARequiredFor: append([]string{}, o.MFARequiredFor...), Created: o.Created, Updated: o.Updated}
	if o.Contact != nil {
		v.Contact = &Contact{Name: o.Contact.Name, Email: o.Contact.Email, Phone: o.Contact.Phone}
	}
	v.HeadOffice = address.View(o.HeadOffice)
	if o.Logo != nil {
		v.Logo = &LogoInfo{ContentType: o.Logo.ContentType, Size: o.Logo.Size, ETag: o.Logo.ETag, Updated: o.Logo.Updated}
	}
	return v
}

var phonePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+?[0-9 ().-]{6,32}$`) })

func checkContact(v *validate.Errors, c Contact) store.Contact {
	v.Name("contact.name", c.Name, 200)
	email, _ := v.Email("contact.email", c.Email)
	if c.Phone != "" && !phonePattern().MatchString(c.Phone) {
		v.Add("contact.phone", "must be a phone number of 6 to 32 digits, spaces and + ( ) . -")
	}
	return store.Contact{Name: c.Name, Email: email, Phone: c.Phone}
}

// Get returns p's organization: one GetItem.
func (s *Service) Get(ctx context.Context, p principal.Principal) (Organization, error) {
	o, err := s.store.GetOrg(ctx, p.Org)
	if errors.Is(err, store.ErrNotFound) {
		return Organization{}, problem.NotFound("The organization no longer exists.")
	}
	if err != nil {
		return Organization{}, err
	}
	return orgView(o), nil
}

// Update validates every field, then reads the
// organization and writes only what differs: one GetItem, then one
// TransactWriteItems when something changed (none otherwise).
func (s *Service) Update(ctx context.Context, p principal.Principal, req UpdateOrganizationRequest) (Organization, error) {
	var v validate.Errors
	if req.Code != nil {
		v.Add("code", "is immutable: an organization keeps the code it was created with")
	}
	if req.Name != nil {
		v.Name("name", *req.Name, 200)
	}
	if req.Language != nil && !language.Valid(*req.Language) {
		v.Add("language", "must be one of fr, en, nl")
	}
	var contact store.Contact
	if req.Contact != nil {
		contact = checkContact(&v, *req.Contact)
	}
	var office store.Address
	if req.HeadOffice != nil {
		office = address.Check(&v, "head_office", *req.HeadOffice)
	}
	if req.MFARequiredFor != nil {
		if err := s.checkRoles(ctx, &v, p.Org, *req.MFARequiredFor); err != nil {
			return Organization{}, err
		}
	}
	if err := v.Err(); err != nil {
		return Organization{}, err
	}

	o, err := s.store.GetOrg(ctx, p.Org)
	if errors.Is(err, store.ErrNotFound) {
		return Organization{}, problem.NotFound("The organization no longer exists.")
	}
	if err != nil {
		return Organization{}, err
	}
	var c store.OrgChanges
	var fields []string
	patchValue(&fields, "name", req.Name, &o.Name, &c.Name)
	patchValue(&fields, "language", req.Language, &o.Language, &c.Language)
	patchPointer(&fields, "contact", req.Contact != nil, &contact, &o.Contact, &c.Contact)
	patchPointer(&fields, "head_office", req.HeadOffice != nil, &office, &o.HeadOffice, &c.HeadOffice)
	if req.MFARequiredFor != nil && !slices.Equal(sorted(*req.MFARequiredFor), sorted(o.MFARequiredFor)) {
		roles := sorted(*req.MFARequiredFor)
		c.MFARequiredFor, o.MFARequiredFor = &roles, roles
		fields = append(fields, "mfa_required_for")
	}
	if len(fields) == 0 {
		return orgView(o), nil
	}
	now := s.now().UTC()
	c.Updated, o.Updated = now, now
	a := s.event(p, now, "organization.update", "organization:"+o.ID, fields)
	if err := s.store.UpdateOrg(ctx, o.ID, c, a); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Organization{}, problem.NotFound("The organization no longer exists.")
		}
		return Organization{}, fmt.Errorf("update organization: %w", err)
	}
	return orgView(o), nil
}

// event is the audit event of an action the principal p did at now.
func (s *Service) event(p principal.Principal, now time.Time, action, target string, fields []string) store.Audit {
	return store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: action, Target: target, Fields: fields}
}

// checkRoles validates a list of role ids: built-in roles, or custom roles
// of org (one read each; organizations have few).
func (s *Service) checkRoles(ctx context.Context, v *validate.Errors, org string, roles []string) error {
	seen := map[string]bool{}
	for i, id := range roles {
		field := fmt.Sprintf("mfa_required_for[%d]", i)
		if seen[id] {
			v.Add(field, "is listed twice")
			continue
		}
		seen[id] = true
		if permission.IsBuiltIn(id) {
			continue
		}
		if !v.Required(field, id, 64) {
			continue
		}
		_, err := s.store.GetRole(ctx, org, id)
		if errors.Is(err, store.ErrNotFound) {
			v.Add(field, "is not a role of the organization")
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sorted(xs []string) []string {
	ys := append([]string{}, xs...)
	slices.Sort(ys)
	return ys
}
