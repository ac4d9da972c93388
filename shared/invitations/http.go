package invitations

import (
	"net/http"
	"strconv"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

var listParams = []router.Param{
	{Name: "status", Description: "Only invitations of this status.", Enum: []string{store.Pending, store.Accepted, store.Revoked, store.Expired}},
	{Name: "limit", Description: "Invitations read per page, 1 to 100 (default 50)."},
	{Name: "cursor", Description: "The next_cursor of the previous page."},
}

// List returns a page of invitations, optionally of one status.
func (s *Service) List(r *http.Request) (Page, error) {
	p, _ := principal.From(r.Context())
	q := r.URL.Query()
	var v validate.Errors
	status := q.Get("status")
	switch status {
	case "", store.Pending, store.Accepted, store.Revoked, store.Expired:
	default:
		v.Add("status", "must be pending, accepted, revoked or expired")
	}
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			v.Add("limit", "must be a number from 1 to 100")
		}
		limit = n
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	start, err := cursor.DecodePrefix(p.Org, "invitations", "INVITE#", q.Get("cursor"))
	if err != nil {
		return Page{}, err
	}
	invs, next, err := s.store.ListInvitations(r.Context(), p.Org, start, limit)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: []Invitation{}, NextCursor: cursor.Encode(p.Org, "invitations", next)}
	for _, inv := range invs {
		if view := s.view(inv); status == "" || view.Status == status {
			page.Items = append(page.Items, view)
		}
	}
	return page, nil
}

func client(r *http.Request) session.Client {
	return session.Client{IP: r.RemoteAddr, UserAgent: r.UserAgent()}
}

// Operations returns the handlers of the invitations function's routes.
func (s *Service) Operations() router.Operations {
	renew := func(send bool) httpapi.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			out, err := s.Renew(r.Context(), p, r.PathValue("id"), send)
			if err != nil {
				return err
			}
			return httpapi.JSON(w, http.StatusOK, out)
		}
	}
	return router.Operations{
		"createInvitation": {Request: CreateRequest{}, Response: WithLink{}, Status: http.StatusCreated,
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				p, _ := principal.From(r.Context())
				var in CreateRequest
				if err := httpapi.Decode(r, &in); err != nil {
					return err
				}
				out, err := s.Create(r.Context(), p, in)
				if err != nil {
					return err
				}
				return httpapi.JSON(w, http.StatusCreated, out)
			}},
		"listInvitations": {Response: Page{}, Query: listParams, Handle: func(w http.ResponseWriter, r *http.Request) error {
			page, err := s.List(r)
			if err != nil {
				return err
			}
			return httpapi.JSON(w, http.StatusOK, page)
		}},
		"revokeInvitation": {Status: http.StatusNoContent, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			if err := s.Revoke(r.Context(), p, r.PathValue("id")); err != nil {
				return err
			}
			return httpapi.NoContent(w)
		}},
		"regenerateInvitationLink": {Response: WithLink{}, Handle: renew(false)},
		"resendInvitation":         {Response: WithLink{}, Handle: renew(true)},
		"previewInvitation": {Response: Preview{}, Query: []router.Param{{Name: "token", Description: "The token of the invitation link."}},
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				pv, err := s.Preview(r.Context(), r.URL.Query().Get("token"))
				if err != nil {
					return s.links.Judge(r.Context(), r.RemoteAddr, err)
				}
				return httpapi.JSON(w, http.StatusOK, pv)
			}},
		"acceptInvitation": {Request: AcceptRequest{}, Response: session.Tokens{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
			var in AcceptRequest
			if err := httpapi.Decode(r, &in); err != nil {
				return err
			}
			var v validate.Errors
			v.Required("token", in.Token, 128)
			if err := v.Err(); err != nil {
				return err
			}
			t, err := s.Accept(r.Context(), in, client(r))
			if err != nil {
				return s.links.Judge(r.Context(), r.RemoteAddr, err)
			}
			return httpapi.JSON(w, http.StatusOK, t)
		}},
	}
}
