package apikeys

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/validate"
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

const (
	listDefault = 50
	listMax     = 100
	cursorList  = "apikeys"
)

// Operations returns the handlers of the apikeys function's routes.
func (s *Service) Operations() router.Operations {
	id := func(r *http.Request) string { return r.PathValue("id") }
	with := func(status int, f func(ctx context.Context, p principal.Principal, r *http.Request) (any, error)) httpapi.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			v, err := f(r.Context(), p, r)
			if err != nil {
				return err
			}
			if status == http.StatusNoContent {
				return httpapi.NoContent(w)
			}
			w.Header().Set("Cache-Control", "no-store")
			return httpapi.JSON(w, status, v)
		}
	}
	return router.Operations{
		"listClients": {Response: ClientList{}, Handle: with(http.StatusOK, func(context.Context, principal.Principal, *http.Request) (any, error) {
			return s.Clients(), nil
		})},
		"createAPIKey": {Request: APIKeyRequest{}, Response: NewAPIKey{}, Status: http.StatusCreated,
			Handle: with(http.StatusCreated, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
				var in APIKeyRequest
				if err := httpapi.Decode(r, &in); err != nil {
					return nil, err
				}
				return s.Create(ctx, p, in)
			})},
		"listMyAPIKeys": {Response: APIKeyList{}, Handle: with(http.StatusOK, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			keys, err := s.Mine(ctx, p)
			return APIKeyList{Items: keys}, err
		})},
		"revokeMyAPIKey": {Status: http.StatusNoContent, Handle: with(http.StatusNoContent, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			return nil, s.Revoke(ctx, p, id(r), false)
		})},
		"rotateMyAPIKey": {Request: RotateAPIKeyRequest{}, Response: NewAPIKey{}, Status: http.StatusCreated,
			Handle: with(http.StatusCreated, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
				var in RotateAPIKeyRequest
				if err := decodeOptional(r, &in); err != nil {
					return nil, err
				}
				return s.Rotate(ctx, p, id(r), in)
			})},
		"listAPIKeys": {Response: APIKeyPage{}, Query: pageParams, Handle: with(http.StatusOK, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			return s.List(ctx, p, r.URL.Query().Get("limit"), r.URL.Query().Get("cursor"))
		})},
		"revokeAPIKey": {Status: http.StatusNoContent, Handle: with(http.StatusNoContent, func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			return nil, s.Revoke(ctx, p, id(r), true)
		})},
	}
}

// decodeOptional decodes a body that may be empty (rotation's defaults).
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBody+1))
	if err != nil {
		return problem.BadRequest("unreadable_body", "The request body could not be read.")
	}
	if len(body) == 0 {
		return nil
	}
	if len(body) > httpapi.MaxBody {
		return problem.New(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is too large.")
	}
	if err := httpapi.JSONContent(r, body); err != nil {
		return err
	}
	return httpapi.DecodeBytes(body, v)
}

var pageParams = []router.Param{
	{Name: "limit", Description: "Keys per page, 1 to 100 (default 50)."},
	{Name: "cursor", Description: "The next_cursor of the previous page."},
}

// Clients returns the catalog of client applications.
func (s *Service) Clients() ClientList {
	out := ClientList{Items: []clients.Client{}}
	for _, c := range s.clients {
		if c.Scopes == nil {
			c.Scopes = []permission.Permission{}
		}
		out.Items = append(out.Items, c)
	}
	return out
}

// List returns a page of the organization's live keys, with their users
// and last use: one Query and one BatchGetItem.
func (s *Service) List(ctx context.Context, p principal.Principal, limit, after string) (APIKeyPage, error) {
	n := listDefault
	if limit != "" {
		var err error
		if n, err = strconv.Atoi(limit); err != nil || n < 1 || n > listMax {
			var v validate.Errors
			v.Add("limit", "must be a number from 1 to %d", listMax)
			return APIKeyPage{}, v.Err()
		}
	}
	start, err := cursor.DecodePrefix(p.Org, cursorList, "APIKEY#", after)
	if err != nil {
		return APIKeyPage{}, err
	}
	entries, next, err := s.store.ListAPIKeys(ctx, p.Org, start, n)
	if err != nil {
		return APIKeyPage{}, err
	}
	now := s.now().Unix()
	var hashes []string
	for _, e := range entries {
		if e.Expires > now {
			hashes = append(hashes, e.Hash)
		}
	}
	used := map[string]int64{}
	if len(hashes) > 0 {
		if used, err = s.store.KeysLastUsed(ctx, hashes); err != nil {
			return APIKeyPage{}, err
		}
	}
	page := APIKeyPage{Items: []OrgAPIKey{}, NextCursor: cursor.Encode(p.Org, cursorList, next)}
	for _, e := range entries {
		if e.Expires > now { // an expired key awaits TTL
			page.Items = append(page.Items, OrgAPIKey{APIKey: entryView(e, used[e.Hash]), UserID: e.User})
		}
	}
	return page, nil
}
