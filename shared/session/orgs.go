package session

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/guichet/guichet/shared/mfa"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// Choice is an organization a person may sign in to, as an organization
// challenge lists it.
type Choice struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
	// LogoURL loads the organization's logo without a session (an img
	// element's src); empty when it has none.
	LogoURL string `json:"logo_url,omitempty" doc:"the organization's logo, readable without a session; absent when it has none"`
}

func (s *Service) choiceOf(o store.Org) Choice {
	c := Choice{ID: o.ID, Code: o.Code, Name: o.Name}
	if o.Logo != nil {
		c.LogoURL = strings.TrimRight(s.cfg.Issuer, "/") + route.SharedLogoPath(o.ID, o.Logo.Key())
	}
	return c
}

// active returns the memberships whose user is active.
func active(ms []store.Membership) []store.Membership {
	var out []store.Membership
	for _, m := range ms {
		if m.User.Status == store.Active {
			out = append(out, m)
		}
	}
	return out
}

// pick returns the membership of ms in organization (its id or code).
func pick(ms []store.Membership, organization string) (store.Membership, bool) {
	for _, m := range ms {
		if m.Org.ID == organization || strings.EqualFold(m.Org.Code, organization) {
			return m, true
		}
	}
	return store.Membership{}, false
}

func noMembership() *problem.Problem {
	return problem.New(http.StatusForbidden, "no_membership", "You have no active membership in this organization.")
}

func inactive() *problem.Problem {
	return problem.New(http.StatusForbidden, "account_inactive", "This account is inactive.")
}

// membership resolves, once a person's password is right, the membership a
// login opens: the one organization picks (its id or code), the only
// active one, or, with several active, none yet (several is true and the
// caller asks which).
func (s *Service) membership(ctx context.Context, u store.User, organization string) (m store.Membership, all []store.Membership, err error) {
	ms, err := s.store.MembershipsOf(ctx, u.LoginKey(), u.Person)
	if err != nil {
		return m, nil, err
	}
	all = active(ms)
	if organization != "" {
		if m, ok := pick(all, organization); ok {
			return m, all, nil
		}
		return m, all, noMembership()
	}
	switch len(all) {
	case 0:
		return m, nil, inactive()
	case 1:
		return all[0], all, nil
	}
	return m, all, nil
}

// organizationChallenge asks a person which of its active memberships ms
// to sign in to.
func (s *Service) organizationChallenge(ctx context.Context, u store.User, ms []store.Membership) (Challenge, error) {
	ch, cred, err := s.newChallenge(u, store.OrganizationChallenge)
	if err != nil {
		return Challenge{}, err
	}
	cred.Ref = u.LoginKey()
	if err := s.store.PutCredential(ctx, cred); err != nil {
		return Challenge{}, err
	}
	for _, m := range ms {
		ch.Organizations = append(ch.Organizations, s.choiceOf(m.Org))
	}
	return ch, nil
}

// ChooseOrganization answers an organization challenge: the challenge is
// used up, and the membership picked (an active one of the same person)
// goes on as a login would: its organization's steps, then a session.
func (s *Service) ChooseOrganization(ctx context.Context, challengeToken, organization string, c Client) (any, error) {
	_, hash, ok := token.Parse(challengeToken, token.Challenge)
	if !ok {
		return nil, invalidToken()
	}
	ch, err := s.store.GetCredential(ctx, hash)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ch.Kind != store.OrganizationChallenge || !ch.Valid(s.now()))) {
		return nil, invalidToken()
	}
	if err != nil {
		return nil, err
	}
	uc, err := s.store.UserContextOf(ctx, ch.Org, ch.User)
	if err != nil {
		return nil, err
	}
	if !uc.Found || uc.User.Person == "" || uc.User.LoginKey() != ch.Ref {
		return nil, invalidToken() // deleted, or its login changed, since
	}
	m, _, err := s.membership(ctx, uc.User, organization)
	if err != nil {
		return nil, err
	}
	if err := s.store.TakeChallenge(ctx, hash); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, invalidToken() // answered meanwhile
		}
		return nil, err
	}
	op, err := s.open(ctx, m.User, m.Org, c, "")
	if err != nil {
		return nil, err
	}
	return op.Answer, nil
}

// Switch opens a session of the caller's person in another of its
// organizations, without the password: the caller's session stays. The
// target organization's policy applies: when it requires two-step
// verification of the membership's role, or the person has it on, and
// the caller's session did not prove a code, the answer is the mfa (or
// mfa_enrollment) challenge of the target membership; a password change
// the person owes comes next. Audited in the target organization
// (session.switch).
func (s *Service) Switch(ctx context.Context, p principal.Principal, organization string, c Client) (any, error) {
	if p.Credential != principal.Session {
		return nil, problem.BadRequest("not_a_session", "Only a session can switch organizations.")
	}
	uc, err := s.store.UserContextOf(ctx, p.Org, p.User)
	if err != nil {
		return nil, err
	}
	if !uc.Found || uc.User.Status != store.Active {
		return nil, invalidToken()
	}
	if uc.User.Person == "" {
		return nil, noMembership() // username and service users belong to one organization
	}
	m, _, err := s.membership(ctx, uc.User, organization)
	if err != nil {
		return nil, err
	}
	rc, err := s.sessionRefresh(ctx, p.CredentialID)
	if err != nil {
		return nil, err
	}
	if rc.OIDCClient != "" && rc.OIDCClient != BrowserClient {
		// The new tokens are the JSON API's, with the whole role: an
		// OpenID Connect client's session (bound to it, perhaps limited to
		// its scopes) would escape both. The client signs in again instead.
		return nil, problem.BadRequest("not_a_session",
			"An OpenID Connect client's session does not switch organizations: sign in again through the authorization endpoint.")
	}
	verified := rc.Verified
	u, o := m.User, m.Org
	after := ""
	if verified || (!u.MFAEnabled() && !mfa.Required(o, u)) {
		after = store.MFAChallenge // no code is owed
	}
	now := s.now()
	a := store.Audit{Org: o.ID, Time: now, Actor: u.ID, Via: "session:" + p.CredentialID, Action: "session.switch",
		Target: "user:" + u.ID}
	for attempt := 1; ; attempt++ {
		op, err := s.Next(ctx, u, o, c, after)
		if err != nil {
			return nil, err
		}
		if op.Next.Session != nil {
			op.Next.Refresh.Verified = verified && u.MFAEnabled()
		}
		a.ID, a.Time = "", now
		err = s.store.Switched(ctx, op.Next, a)
		switch {
		case err == nil:
			return op.Answer, nil
		case store.Lost(err, store.RoleChanged) && attempt < roleRetries:
			continue
		case store.Lost(err, store.RoleChanged), store.Lost(err, store.UserChanged):
			return nil, roleChanged()
		}
		return nil, err
	}
}

// sessionRefresh returns the live refresh credential of a session: whether
// it proved a two-step code when it opened (Verified), the OpenID Connect
// client it was issued to. The zero credential when it is gone.
func (s *Service) sessionRefresh(ctx context.Context, sessionID string) (store.Credential, error) {
	sess, err := s.store.GetSession(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, invalidToken()
	}
	if err != nil {
		return store.Credential{}, err
	}
	rc, err := s.store.GetCredential(ctx, sess.RefreshHash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, nil
	}
	return rc, err
}

// Verify checks the password of a person's e-mail login as a login does
// (the attempt counted, the same answer for a wrong password and an
// unknown login) and returns the membership it was checked on, active or
// not; nothing opens.
func (s *Service) Verify(ctx context.Context, email, pw string, c Client) (store.User, error) {
	u, _, _, err := s.authenticate(ctx, store.EmailLogin(email), "", pw, c)
	if p, ok := problem.As(err); ok && p.Code == "account_inactive" {
		return store.User{}, invalidCredentials() // a person whose memberships all ended joins nothing
	}
	return u, err
}
