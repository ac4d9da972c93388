package apikeys

import (
	"context"
	"net/http"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// ClientList is the catalog of client applications.
type ClientList struct {
	Items []clients.Client `json:"items"`
}

// APIKeyList is the caller's own keys.
type APIKeyList struct {
	Items []APIKey `json:"items"`
}

// OrgAPIKey is a key as the organization-wide list shows it.
type OrgAPIKey struct {
	APIKey
	UserID string `json:"user_id" doc:"The user who made the key and whose account it acts for."`
}

// APIKeyPage is a page of the organization's keys.
type APIKeyPage struct {
	Items      []OrgAPIKey `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
}

const cursorList = "apikeys"

// Operations returns the apikeys function's operations. It reads nothing
// of s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpListClients: router.JSON(http.StatusOK, func(context.Context, router.Call, router.None) (ClientList, error) {
			return s.Clients(), nil
		}),
		route.OpCreateAPIKey: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in APIKeyRequest) (NewAPIKey, error) {
			return s.Create(ctx, c.Principal, in)
		}),
		route.OpListMyAPIKeys: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (APIKeyList, error) {
			keys, err := s.Mine(ctx, c.Principal)
			return APIKeyList{Items: keys}, err
		}),
		route.OpRevokeMyAPIKey: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.Revoke(ctx, c.Principal, c.ID)
		}),
		// The body may be left out: the rotation keeps the key's settings.
		route.OpRotateMyAPIKey: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in *RotateAPIKeyRequest) (NewAPIKey, error) {
			if in == nil {
				in = &RotateAPIKeyRequest{}
			}
			return s.Rotate(ctx, c.Principal, c.ID, *in)
		}),
		route.OpListAPIKeys: router.List(router.Limits{Items: "Keys", Default: 50, Max: 100},
			func(ctx context.Context, c router.Call, _ router.None, pg router.Page) (APIKeyPage, error) {
				return s.List(ctx, c.Principal, pg)
			}),
		route.OpRevokeAPIKey: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.RevokeAny(ctx, c.Principal, c.ID)
		}),
	}
}
