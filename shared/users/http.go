package users

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/validate"
)

// Page is one page of users.
type Page struct {
	Items      []User `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
}

// StatusRequest is the body of POST /v1/users/{id}/status.
type StatusRequest struct {
	Status string `json:"status" enum:"active|inactive"`
}

// Operations returns the handlers of the users function's routes.
func (s *Service) Operations() router.Operations {
	id := func(r *http.Request) string { return r.PathValue("id") }
	withUser := func(f func(ctx context.Context, p principal.Principal, r *http.Request) (any, error)) httpapi.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			v, err := f(r.Context(), p, r)
			if err != nil {
				return err
			}
			return httpapi.JSON(w, http.StatusOK, v)
		}
	}
	decode := func(r *http.Request, v any) error { return httpapi.Decode(r, v) }
	return router.Operations{
		"listRoles": {Response: RoleList{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			return s.Roles(ctx, p)
		})},
		"createRole": {Request: RoleRequest{}, Response: Role{}, Status: http.StatusCreated, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			var in RoleRequest
			if err := decode(r, &in); err != nil {
				return err
			}
			role, err := s.CreateRole(r.Context(), p, in)
			if err != nil {
				return err
			}
			return httpapi.JSON(w, http.StatusCreated, role)
		}},
		"updateRole": {Request: RoleRequest{}, Response: Role{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			var in RoleRequest
			if err := decode(r, &in); err != nil {
				return nil, err
			}
			return s.UpdateRole(ctx, p, id(r), in)
		})},
		"deleteRole": {Status: http.StatusNoContent, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			if err := s.DeleteRole(r.Context(), p, id(r)); err != nil {
				return err
			}
			return httpapi.NoContent(w)
		}},
		"listUsers": {Response: Page{}, Query: listParams, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			return s.List(ctx, p, r.URL.Query())
		})},
		"createUser": {Request: CreateRequest{}, Response: Created{}, Status: http.StatusCreated, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			var in CreateRequest
			if err := decode(r, &in); err != nil {
				return err
			}
			c, err := s.Create(r.Context(), p, in)
			if err != nil {
				return err
			}
			w.Header().Set("Location", "/v1/users/"+c.ID)
			return httpapi.JSON(w, http.StatusCreated, c)
		}},
		"getUser": {Response: User{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			u, err := s.get(ctx, p, id(r))
			if err != nil {
				return nil, err
			}
			return view(u), nil
		})},
		"updateUser": {Request: UpdateRequest{}, Response: User{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			var in UpdateRequest
			if err := decode(r, &in); err != nil {
				return nil, err
			}
			return s.Update(ctx, p, id(r), in)
		})},
		"deleteUser": {Status: http.StatusNoContent, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			if err := s.Delete(r.Context(), p, id(r)); err != nil {
				return err
			}
			return httpapi.NoContent(w)
		}},
		"setUserStatus": {Request: StatusRequest{}, Response: User{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			var in StatusRequest
			if err := decode(r, &in); err != nil {
				return nil, err
			}
			return s.SetStatus(ctx, p, id(r), in.Status)
		})},
		"setUserPassword": {Request: PasswordRequest{}, Response: User{}, Handle: withUser(func(ctx context.Context, p principal.Principal, r *http.Request) (any, error) {
			var in PasswordRequest
			if err := decode(r, &in); err != nil {
				return nil, err
			}
			return s.SetPassword(ctx, p, id(r), in)
		})},
		"printLetter": {ContentTypes: []string{"application/pdf"}, Handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := principal.From(r.Context())
			doc, err := s.Letter(r.Context(), p, id(r))
			if err != nil {
				return err
			}
			h := w.Header()
			h.Set("Content-Type", "application/pdf")
			h.Set("Content-Disposition", `attachment; filename="service-user-letter.pdf"`)
			h.Set("Cache-Control", "no-store")
			w.Write(doc)
			return nil
		}},
	}
}

// BulkOperations returns the handlers of the bulk function's routes: the
// import and export of users, which may take long and send mail.
func (s *Service) BulkOperations() router.Operations {
	return router.Operations{
		"exportUsers": {Handle: s.handleExport, ContentTypes: []string{CSVType, JSONLType}, Query: []router.Param{
			{Name: "format", Description: "csv (default) or jsonl; or ask with Accept: application/x-ndjson.", Enum: []string{CSV, JSONL}},
			{Name: "include_password_hashes", Description: "true adds the password_hash column (needs users:export; audited).", Enum: []string{"true", "false"}},
		}},
		"importUsers": {Handle: s.handleImport, Response: ImportReport{}, RequestTypes: []string{CSVType, JSONLType}, Query: []router.Param{
			{Name: "dry_run", Description: "true validates every row (against the table too) and writes nothing.", Enum: []string{"true", "false"}},
			{Name: "send_invitations", Description: "true mails users imported without a password_hash a link to set one (valid 7 days).", Enum: []string{"true", "false"}},
		}},
	}
}

var listParams = []router.Param{
	{Name: "status", Description: "Only users of this status.", Enum: []string{store.Active, store.Inactive, store.UserPending}},
	{Name: "role", Description: "Only holders of this role id."},
	{Name: "unit", Description: "Only users of this unit (or of all units)."},
	{Name: "kind", Description: "Only persons or service users.", Enum: []string{store.Person, store.Service}},
	{Name: "q", Description: "Text searched in names and login names."},
	{Name: "limit", Description: "Users read per page, 1 to 100 (default 50)."},
	{Name: "cursor", Description: "The next_cursor of the previous page."},
}

// List returns a page of users matching the query's filters: one Query.
func (s *Service) List(ctx context.Context, p principal.Principal, q map[string][]string) (Page, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var v validate.Errors
	f := store.UserFilter{Status: get("status"), Role: get("role"), Unit: get("unit"), Kind: get("kind"),
		Text: strings.ToLower(strings.TrimSpace(get("q")))}
	if f.Status != "" && f.Status != store.Active && f.Status != store.Inactive && f.Status != store.UserPending {
		v.Add("status", "must be active, inactive or pending")
	}
	if f.Kind != "" && f.Kind != store.Person && f.Kind != store.Service {
		v.Add("kind", "must be person or service")
	}
	v.Optional("q", f.Text, 100)
	v.Optional("role", f.Role, 64)
	v.Optional("unit", f.Unit, 64)
	limit := 50
	if l := get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			v.Add("limit", "must be a number from 1 to 100")
		}
		limit = n
	}
	if err := v.Err(); err != nil {
		return Page{}, err
	}
	start, err := cursor.DecodePrefix(p.Org, "users", "USER#", get("cursor"))
	if err != nil {
		return Page{}, err
	}
	users, next, err := s.store.ListUsers(ctx, p.Org, f, start, limit)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: make([]User, len(users)), NextCursor: cursor.Encode(p.Org, "users", next)}
	for i, u := range users {
		page.Items[i] = view(u)
	}
	return page, nil
}
