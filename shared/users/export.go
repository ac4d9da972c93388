package users

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/store"
)

// ExportOptions say what to export.
type ExportOptions struct {
	// Format is CSV or JSONL.
	Format string
	// Hashes adds each user's password hash (PHC or modular crypt string,
	// empty for users without a password); it needs users:export.
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
			if o.Hashes {
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

// handleExport answers GET /v1/users/export: the format from the query
// (format=csv|jsonl) or else from Accept.
func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) error {
	p, _ := principal.From(r.Context())
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = CSV
		for _, a := range r.Header.Values("Accept") {
			if bytes.Contains([]byte(a), []byte(JSONLType)) {
				format = JSONL
			}
		}
	}
	hashes, err := flag(q.Get("include_password_hashes"), "include_password_hashes")
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if _, err := s.Export(r.Context(), p, ExportOptions{Format: format, Hashes: hashes}, &body); err != nil {
		return err
	}
	if body.Len() > MaxExportBody {
		return problem.New(http.StatusUnprocessableEntity, "export_too_large",
			fmt.Sprintf("The export exceeds %d MiB; use the admin command (guichet users export).", MaxExportBody>>20))
	}
	h := w.Header()
	ct, ext := CSVType+"; charset=utf-8", "csv"
	if format == JSONL {
		ct, ext = JSONLType, "jsonl"
	}
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="users.%s"`, ext))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(body.Bytes())
	return nil
}

// flag reads a true/false query parameter ("" is false).
func flag(v, name string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, problem.Invalid(problem.FieldError{Field: name, Message: "must be true or false"})
}
