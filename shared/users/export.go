package users

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/store"
)

// ExportOptions say what to export.
type ExportOptions struct {
	// Format is CSV or JSONL.
	Format string
	// Hashes adds each user's password hash (PHC or modular crypt string,
	// empty for users without a password, and for those the caller may
	// not act on: principal.MayActOn); it needs users:export.
	Hashes bool
	// Progress, when set, is told how many users were read so far.
	Progress func(read int)
}

// MaxExportBody is the largest export the API answers: a function's
// answer is at most 6 MB. Larger organizations export with the admin
// command (guichet users export).
const MaxExportBody = 5 << 20

// Export writes every user of p's organization to w in o.Format, and
// records the export in the audit trail (users.export, with the columns
// exported and the count) before writing anything: no data leaves without
// its trace. It reads the users a page (one Query) at a time.
func (s *Service) Export(ctx context.Context, p principal.Principal, o ExportOptions, w io.Writer) (int, error) {
	if o.Format != CSV && o.Format != JSONL {
		return 0, problem.Invalid(problem.FieldError{Field: "format", Message: "must be csv or jsonl"})
	}
	if o.Hashes && !p.Can(permission.UsersExport) {
		return 0, problem.Forbidden(fmt.Sprintf("Exporting password hashes needs the %q permission.", permission.UsersExport))
	}
	var recs []Record
	err := s.store.EachUser(ctx, p.Org, func(us []store.User) error {
		for _, u := range us {
			hash := ""
			// The hash of a user the caller may not act on (the owner, for
			// an admin) stays home: cracked offline, it would take it over.
			if o.Hashes && p.MayActOn(u.ID, u.Role, u.Permissions) {
				hash = u.PasswordHash
			}
			recs = append(recs, record(view(u), hash))
		}
		if o.Progress != nil {
			o.Progress(len(recs))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	cols := slices.Clone(Columns)
	if o.Hashes {
		cols = append(cols, HashColumn)
	}
	a := auditOf(p, s.now(), "users.export", "", cols...)
	a.Target, a.Counts = "organization:"+p.Org, map[string]int{"users": len(recs)}
	if err := s.store.AddAudit(ctx, a); err != nil {
		return 0, err
	}
	if o.Format == CSV {
		return len(recs), WriteCSV(w, recs, o.Hashes, true)
	}
	return len(recs), WriteJSONL(w, recs)
}

// ExportFile is GET /v1/users/export: the export of q.Format, or else of
// the format Accept asks for (CSV by default), as one file within
// MaxExportBody.
func (s *Service) ExportFile(ctx context.Context, p principal.Principal, q ExportQuery, accept []string) (router.File, error) {
	format := q.Format
	if format == "" {
		format = CSV
		for _, a := range accept {
			if strings.Contains(a, JSONLType) {
				format = JSONL
			}
		}
	}
	var body bytes.Buffer
	if _, err := s.Export(ctx, p, ExportOptions{Format: format, Hashes: q.IncludePasswordHashes}, &body); err != nil {
		return router.File{}, err
	}
	if body.Len() > MaxExportBody {
		return router.File{}, problem.New(http.StatusUnprocessableEntity, "export_too_large",
			fmt.Sprintf("The export exceeds %d MiB; use the admin command (guichet users export).", MaxExportBody>>20))
	}
	f := router.File{ContentType: CSVType + "; charset=utf-8", Name: "users.csv", Data: body.Bytes()}
	if format == JSONL {
		f.ContentType, f.Name = JSONLType, "users.jsonl"
	}
	return f, nil
}
