package users

import (
	"context"
	"net/http"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// Page is one page of users.
type Page struct {
	Items      []User `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
	// Partial marks a page cut short by the read budget.
	Partial bool `json:"partial,omitempty" doc:"True when the page stopped after reading 1,000 users (a q search, or several filters at once) before finding limit matches: it may hold fewer (even none); follow next_cursor, which resumes after the last user read. Absent otherwise: a page holds limit matches unless it is the last."`
}

// ListFilter is the query of GET /v1/users.
type ListFilter struct {
	Status string `query:"status" enum:"active|inactive|pending" doc:"Only users of this status."`
	Role   string `query:"role" doc:"Only holders of this role id."`
	Unit   string `query:"unit" doc:"Only users assigned to this unit, with all units, or with the unit's kind (unit_kinds)."`
	Kind   string `query:"kind" enum:"person|service" doc:"Only persons or service users."`
	Q      string `query:"q" doc:"Text searched in names and login names."`
}

// StatusRequest is the body of POST /v1/users/{id}/status.
type StatusRequest struct {
	Status string `json:"status" enum:"active|inactive"`
}

// Location is where the created user is read.
func (c Created) Location() string { return "/v1/users/" + c.ID }

// ExportQuery is the query of GET /v1/users/export.
type ExportQuery struct {
	Format                string `query:"format" enum:"csv|jsonl" doc:"csv (default) or jsonl; or ask with Accept: application/x-ndjson."`
	IncludePasswordHashes bool   `query:"include_password_hashes" doc:"true adds the password_hash column (needs users:export; audited)."`
}

// ImportQuery is the query of POST /v1/users/import.
type ImportQuery struct {
	DryRun          bool `query:"dry_run" doc:"true validates every row (against the table too) and writes nothing."`
	SendInvitations bool `query:"send_invitations" doc:"true mails users imported without a password_hash a link to set one (valid 7 days)."`
}

// Operations returns the users function's operations. It reads nothing of
// s, which may be nil when only the API description is wanted.
func (s *Service) Operations() router.Operations {
	return router.Operations{
		route.OpListPermissions: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (PermissionList, error) {
			return s.Permissions(ctx, c.Principal, c.Header.Get("Accept-Language"))
		}),
		route.OpListRoles: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (RoleList, error) {
			return s.Roles(ctx, c.Principal)
		}),
		route.OpCreateRole: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in RoleRequest) (Role, error) {
			return s.CreateRole(ctx, c.Principal, in)
		}),
		route.OpUpdateRole: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in RoleRequest) (Role, error) {
			return s.UpdateRole(ctx, c.Principal, c.ID, in)
		}),
		route.OpDeleteRole: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.DeleteRole(ctx, c.Principal, c.ID)
		}),
		route.OpListUsers: router.List(router.Limits{Items: "Users", Default: 50, Max: 100},
			func(ctx context.Context, c router.Call, f ListFilter, pg router.Page) (Page, error) {
				return s.List(ctx, c.Principal, f, pg)
			}),
		route.OpGetUser: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (User, error) {
			return s.Get(ctx, c.Principal, c.ID)
		}),
		route.OpUpdateUser: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in UpdateRequest) (User, error) {
			return s.Update(ctx, c.Principal, c.ID, in)
		}),
		route.OpDeleteUser: router.NoContent(func(ctx context.Context, c router.Call, _ router.None) error {
			return s.Delete(ctx, c.Principal, c.ID)
		}),
		route.OpSetUserStatus: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in StatusRequest) (User, error) {
			return s.SetStatus(ctx, c.Principal, c.ID, in.Status)
		}),
		route.OpSetUserPassword: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, in PasswordRequest) (User, error) {
			return s.SetPassword(ctx, c.Principal, c.ID, in)
		}),
		route.OpResetUserMFA: router.JSON(http.StatusOK, func(ctx context.Context, c router.Call, _ router.None) (User, error) {
			return s.ResetMFA(ctx, c.Principal, c.ID)
		}),
		route.OpPrintLetter: router.Download([]string{"application/pdf"}, func(ctx context.Context, c router.Call, _ router.None) (router.File, error) {
			doc, err := s.Letter(ctx, c.Principal, c.ID)
			return router.File{ContentType: "application/pdf", Name: "service-user-letter.pdf", Data: doc}, err
		}),
	}
}

// BulkOperations returns the bulk function's operations: the import and
// export of users, which may take long and send mail, and the creation of
// a user, which mails a person's welcome link. It reads nothing of s,
// which may be nil when only the API description is wanted.
func (s *Service) BulkOperations() router.Operations {
	return router.Operations{
		route.OpCreateUser: router.JSON(http.StatusCreated, func(ctx context.Context, c router.Call, in CreateRequest) (Created, error) {
			return s.Create(ctx, c.Principal, in)
		}),
		route.OpExportUsers: router.DownloadOrSee([]string{CSVType, JSONLType}, func(ctx context.Context, c router.Call, q ExportQuery) (router.File, *ExportLink, error) {
			return s.ExportFile(ctx, c.Principal, q, c.Header.Values("Accept"))
		}),
		route.OpImportUsers: router.Upload(http.StatusOK, []string{CSVType, JSONLType}, func(ctx context.Context, c router.Call, q ImportQuery, b router.Body) (ImportReport, error) {
			return s.ImportBody(ctx, c.Principal, q, b)
		}),
	}
}
