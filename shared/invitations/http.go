package invitations

import (
	"context"
	"net/http"
	"strings"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/session"
)

// ListFilter is the query of GET /v1/invitations.
type ListFilter struct {
	Status string `query:"status" enum:"pending|accepted|revoked|expired" doc:"Only invitations of this status."`
}

// PreviewQuery is the query of GET /v1/invitations/preview.
type PreviewQuery struct {
	Token string `query:"token,required" doc:"The token of the invitation link."`
}

// Operations returns the invitations function's operations. It reads
// nothing of s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpCreateInvitation: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in CreateRequest) (WithLink, error) {
			return s.Create(ctx, c.Principal, in)
		}),
		route.OpListInvitations: router.List(router.Limits{Items: "Invitations", Default: 50, Max: 100},
			func(ctx context.Context, c router.Call, f ListFilter, pg router.Page) (Page, error) {
				return s.List(ctx, c.Principal, f, pg)
			}),
		route.OpRevokeInvitation: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.Revoke(ctx, c.Principal, c.ID)
		}),
		route.OpRegenerateInvitationLink: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (WithLink, error) {
			return s.Renew(ctx, c.Principal, c.ID, false)
		}),
		route.OpResendInvitation: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (WithLink, error) {
			return s.Renew(ctx, c.Principal, c.ID, true)
		}),
		route.OpPreviewInvitation: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, q PreviewQuery) (Preview, error) {
			return s.PreviewLink(ctx, q.Token, c.RemoteAddr)
		}),
		route.OpAcceptInvitation: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in AcceptRequest) (session.Step, error) {
			if auth, ok := strings.CutPrefix(c.Header.Get("Authorization"), "Bearer "); ok {
				in.Session = strings.TrimSpace(auth)
			}
			return s.AcceptLink(ctx, in, session.Client{IP: c.RemoteAddr, UserAgent: c.UserAgent}, c.RemoteAddr)
		}),
	}
}
