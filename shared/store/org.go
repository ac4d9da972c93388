package store

import (
	"context"
	"fmt"
	"time"
)

// Org is an organization (tenant).
type Org struct {
	key
	ID       string    `dynamodbav:"id"`
	Name     string    `dynamodbav:"name"`
	Code     string    `dynamodbav:"code"`
	Language string    `dynamodbav:"language"`
	OwnerID  string    `dynamodbav:"owner_id"`
	Created  time.Time `dynamodbav:"created"`
	Updated  time.Time `dynamodbav:"updated"`
}

func orgKey(id string) key       { return key{"ORG#" + id, "ORG"} }
func orgCodeKey(code string) key { return key{"ORGCODE#" + code, "ORGCODE"} }

// orgCode reserves an organization code.
type orgCode struct {
	key
	Org string `dynamodbav:"org"`
}

// CreateOrg writes an organization with its owner in one transaction: the
// organization, its code guard, the owner and the owner's login guard. It
// returns ErrConflict when the code or the owner's login is taken.
func (s *Store) CreateOrg(ctx context.Context, o Org, owner User, a Audit) error {
	o.key = orgKey(o.ID)
	owner.key = userKey(o.ID, owner.ID)
	owner.Org, owner.OrgCode = o.ID, o.Code
	owner.Search = owner.searchText()
	a.Org = o.ID
	items, err := s.puts(true, o, orgCode{orgCodeKey(o.Code), o.ID}, owner, loginGuardFor(owner))
	if err != nil {
		return err
	}
	ev, err := s.audit(a)
	if err != nil {
		return err
	}
	if err := s.transact(ctx, append(items, ev)...); err != nil {
		return fmt.Errorf("create organization %s: %w", o.Code, err)
	}
	return nil
}

// GetOrg reads an organization.
func (s *Store) GetOrg(ctx context.Context, id string) (Org, error) {
	var o Org
	if err := s.get(ctx, orgKey(id), &o); err != nil {
		return o, fmt.Errorf("get organization: %w", err)
	}
	return o, nil
}
