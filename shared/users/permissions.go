package users

import (
	"context"
	"errors"

	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/store"
)

// PermissionList is the answer to GET /v1/permissions: the deployment's
// whole catalog, for the application's admin screens.
type PermissionList struct {
	// Language is the language of the descriptions.
	Language string           `json:"language" enum:"fr|en|nl" doc:"The language of the descriptions: the best of Accept-Language, else the caller's, else English."`
	Items    []PermissionInfo `json:"items"`
}

// PermissionInfo is one permission of the catalog.
type PermissionInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Source      string `json:"source" enum:"guichet|application" doc:"guichet: one of Guichet's own permissions; application: declared by the deployment (APP_PERMISSIONS)."`
}

// Permissions lists the catalog, described in the language of
// accept (an Accept-Language header), else in the caller's, else in
// English.
func (s *Service) Permissions(ctx context.Context, p principal.Principal, accept string) (PermissionList, error) {
	lang, ok := language.FromAccept(accept)
	if !ok {
		u, err := s.store.GetUser(ctx, p.Org, p.User)
		switch {
		case err == nil && language.Valid(u.Language):
			lang = u.Language
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return PermissionList{}, err
		default:
			lang = language.Fallback
		}
	}
	out := PermissionList{Language: lang, Items: []PermissionInfo{}}
	for _, e := range s.perms.Entries() {
		out.Items = append(out.Items, PermissionInfo{Name: string(e.Name), Description: e.Describe(lang), Source: e.Source})
	}
	return out, nil
}
