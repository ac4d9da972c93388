package users

import (
	"context"
	"errors"
	"strings"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Get returns one user of p's organization: one GetItem.
func (s *Service) Get(ctx context.Context, p principal.Principal, id string) (User, error) {
	u, _, err := s.get(ctx, p, id)
	if err != nil {
		return User{}, err
	}
	return view(u), nil
}

// List returns a page of users matching f: one Query without filters; one
// Query of filter entries (three for unit, after one GetItem of the unit:
// its own users, those with all units and those with its kind) and one
// BatchGetItem with one of status, role, kind, unit; rounds of those, or
// of Queries of the users for q, within store.MaxUsersRead users
// otherwise (see store.ListUsersPage). For a caller whose role is limited
// to its units, only the users within them, checked on the users read
// like q (see scope.Of for its reads).
func (s *Service) List(ctx context.Context, p principal.Principal, f ListFilter, pg router.Page) (Page, error) {
	var v validate.Errors
	sf := store.UserFilter{Status: f.Status, Role: f.Role, Unit: f.Unit, Kind: f.Kind,
		Text: strings.ToLower(strings.TrimSpace(f.Q))}
	v.Optional("q", sf.Text, 100)
	v.Optional("role", sf.Role, 64)
	v.Optional("unit", sf.Unit, 64)
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	start, err := cursor.DecodePrefix(p.Org, "users", "USER#", pg.Cursor)
	if err != nil {
		return Page{}, err
	}
	if strings.HasPrefix(sf.Unit, "unt_") {
		// Users with the unit's kind match it too.
		unit, err := s.store.GetUnit(ctx, p.Org, sf.Unit)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Page{}, err
		}
		sf.UnitKind = unit.Kind
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return Page{}, err
	}
	sf.Within = sc.Within()
	res, err := s.store.ListUsersPage(ctx, p.Org, sf, start, pg.Limit)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]User, len(res.Users)), NextCursor: cursor.Encode(p.Org, "users", res.Next), Partial: res.Partial}
	for i, u := range res.Users {
		page.Items[i] = view(u)
	}
	return page, nil
}
