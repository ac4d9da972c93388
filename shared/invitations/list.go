package invitations

import (
	"context"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/validate"
)

// List returns a page of invitations, of f's status when it names one;
// for a caller whose role is limited to its units, those within them
// (checked on the page read, as the status is).
func (s *Service) List(ctx context.Context, p principal.Principal, f ListFilter, pg router.Page) (Page, error) {
	start, err := cursor.DecodePrefix(p.Org, "invitations", "INVITE#", pg.Cursor)
	if err != nil {
		return Page{}, err
	}
	invs, next, err := s.store.ListInvitations(ctx, p.Org, start, pg.Limit)
	if err != nil {
		return Page{}, err
	}
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: []Invitation{}, NextCursor: cursor.Encode(p.Org, "invitations", next)}
	for _, inv := range invs {
		if !sc.Reaches("", inv.Units, inv.AllUnits, inv.UnitKinds) {
			continue // outside a unit-limited caller's units
		}
		if view := s.view(inv); f.Status == "" || view.Status == f.Status {
			page.Items = append(page.Items, view)
		}
	}
	return page, nil
}

// PreviewLink is Preview for a client at remoteAddr: an unknown link
// counts against the client's allowance of guesses.
func (s *Service) PreviewLink(ctx context.Context, secret, remoteAddr string) (Preview, error) {
	pv, err := s.Preview(ctx, secret)
	if err != nil {
		return Preview{}, s.links.Judge(ctx, remoteAddr, err)
	}
	return pv, nil
}

// AcceptLink is Accept for a client at remoteAddr: an unknown link counts
// against the client's allowance of guesses.
func (s *Service) AcceptLink(ctx context.Context, in AcceptRequest, client session.Client, remoteAddr string) (session.Step, error) {
	var v validate.Errors
	v.Required("token", in.Token, 128)
	if err := v.Err(); err != nil {
		return session.Step{}, err
	}
	t, err := s.Accept(ctx, in, client)
	if err != nil {
		return session.Step{}, s.links.Judge(ctx, remoteAddr, err)
	}
	return session.Step{Value: t}, nil
}
