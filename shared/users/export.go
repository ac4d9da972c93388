package users

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/exports"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
)

// ExportOptions say what to export.
type ExportOptions struct {
	// Format is CSV or JSONL.
	Format string
	// Hashes adds each user's password hash (PHC or modular crypt string,
	// empty for users without a password, for those the caller may not
	// act on: principal.MayActOn, and for persons of other organizations
	// too: then password_hash_omitted says so); it needs users:export.
	Hashes bool
	// Progress, when set, is told how many users were read so far.
	Progress func(read int)
}

// MaxExportBody is the largest export the API answers in its body: a
// function's answer is at most 6 MB. A larger one goes to the export
// store (ExportLink) when there is one, else it is refused.
const MaxExportBody = 5 << 20

// ExportLink is the answer (303 See Other) to an export too large for the
// body: where to read it, without credentials, until it expires.
type ExportLink struct {
	URL     string    `json:"url" doc:"Reads the file once or more without credentials until expires; the Location header holds it too."`
	Expires time.Time `json:"expires"`
}

// Location is the link: a client that follows redirects reads the file.
func (l ExportLink) Location() string { return l.URL }

// WithExports returns s writing exports larger than max bytes (MaxExportBody
// when 0) to st, which may be nil (such exports are then refused).
func (s *Service) WithExports(st exports.Store, max int) *Service {
	c := *s
	c.exports, c.exportMax = st, max
	if c.exportMax <= 0 {
		c.exportMax = MaxExportBody
	}
	return &c
}

// exportColumns checks o and returns the columns it exports.
func exportColumns(p principal.Principal, o ExportOptions) ([]string, error) {
	if o.Format != CSV && o.Format != JSONL {
		return nil, problem.Invalid(problem.FieldError{Field: "format", Message: "must be csv or jsonl"})
	}
	if o.Hashes && !p.Can(permission.UsersExport) {
		return nil, problem.Forbidden(fmt.Sprintf("Exporting password hashes needs the %q permission.", permission.UsersExport))
	}
	cols := slices.Clone(Columns)
	if o.Hashes {
		cols = append(cols, HashColumns...)
	}
	return cols, nil
}

// exportAudit is the users.export event: the columns, and the count when
// known (n < 0: not yet).
func (s *Service) exportAudit(p principal.Principal, cols []string, n int) store.Audit {
	a := auditOf(p, s.now(), "users.export", "", cols...)
	a.Target = "organization:" + p.Org
	if n >= 0 {
		a.Counts = map[string]int{"users": n}
	}
	return a
}

// Export streams every user of p's organization to w in o.Format, a page
// (one Query) at a time, and returns the count. The export is audited
// (users.export, with the columns) before its first byte is written: no
// data leaves without its trace. The count is known only once the last
// page is written, so this event has none; the admin command prints it.
func (s *Service) Export(ctx context.Context, p principal.Principal, o ExportOptions, w io.Writer) (int, error) {
	cols, err := exportColumns(p, o)
	if err != nil {
		return 0, err
	}
	if err := s.store.AddAudit(ctx, s.exportAudit(p, cols, -1)); err != nil {
		return 0, err
	}
	return s.writeExport(ctx, p, o, w)
}

// writeExport writes the users a page at a time: each page is formatted
// and written before the next is read, so memory holds one page, and a
// failed write (the cap) stops the reading.
func (s *Service) writeExport(ctx context.Context, p principal.Principal, o ExportOptions, w io.Writer) (int, error) {
	sc, err := scope.Of(ctx, s.store, p)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.store.EachUser(ctx, p.Org, func(us []store.User) error {
		recs := make([]Record, 0, len(us))
		for _, u := range us {
			if !sc.User(u) {
				continue // outside a unit-limited caller's units
			}
			hash, omitted := "", ""
			// The hash of a user the caller may not act on (the owner, for
			// an admin) stays home: cracked offline, it would take it over.
			// So does a person's who is a member of other organizations
			// too (or may be: not migrated): it opens those as well. The
			// count is on the user item, so this costs no read.
			if o.Hashes && p.MayActOn(u.ID, u.Role, s.perms.Known(u.Permissions)) {
				hash = u.PasswordHash
				if u.Shared() && hash != "" {
					hash, omitted = "", OmittedShared
				}
			}
			recs = append(recs, record(view(u), hash, omitted))
		}
		if err := writeRecords(w, o, recs, n == 0); err != nil {
			return err
		}
		n += len(recs)
		if o.Progress != nil {
			o.Progress(n)
		}
		return nil
	})
	if err == nil && n == 0 {
		err = writeRecords(w, o, nil, true) // the CSV header alone
	}
	return n, err
}

func writeRecords(w io.Writer, o ExportOptions, recs []Record, first bool) error {
	if o.Format == CSV {
		return WriteCSV(w, recs, o.Hashes, first)
	}
	return WriteJSONL(w, recs)
}

// errTooLarge is an export passing the cap with nowhere else to go.
var errTooLarge = errors.New("export too large")

// sink holds an API export as it is written: in memory up to max bytes;
// past that, with spill, in an unlinked temporary file (nothing is left
// behind if the function dies), else the write fails with errTooLarge.
type sink struct {
	max   int
	spill bool
	mem   bytes.Buffer
	file  *os.File
	fw    *bufio.Writer
}

func (k *sink) Write(b []byte) (int, error) {
	if k.fw == nil && k.mem.Len()+len(b) > k.max {
		if !k.spill {
			return 0, errTooLarge
		}
		f, err := os.CreateTemp("", "export-*")
		if err != nil {
			return 0, fmt.Errorf("export: spill: %w", err)
		}
		os.Remove(f.Name()) // the open file lives on; the name does not
		k.file, k.fw = f, bufio.NewWriterSize(f, 256<<10)
		if _, err := k.fw.Write(k.mem.Bytes()); err != nil {
			return 0, fmt.Errorf("export: spill: %w", err)
		}
		k.mem = bytes.Buffer{}
	}
	if k.fw != nil {
		return k.fw.Write(b)
	}
	return k.mem.Write(b)
}

// rewind readies the spilled file to be read from its start.
func (k *sink) rewind() (io.ReadSeeker, error) {
	if err := k.fw.Flush(); err != nil {
		return nil, fmt.Errorf("export: spill: %w", err)
	}
	if _, err := k.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export: spill: %w", err)
	}
	return k.file, nil
}

func (k *sink) close() {
	if k.file != nil {
		k.file.Close()
	}
}

// ExportFile is GET /v1/users/export: the export of q.Format, or else of
// the format Accept asks for (CSV by default). Written a page at a time,
// it is answered in the body when it fits within the cap (MaxExportBody);
// past the cap, the writing goes on into a temporary file that is stored
// in the export store and answered as a link valid exports.LinkTTL (303),
// or, without an export store, stops at once (422 export_too_large). The
// export is audited (users.export, columns and count) once written and
// before anything is answered or stored: no data leaves without its trace,
// and an export refused leaves none.
func (s *Service) ExportFile(ctx context.Context, p principal.Principal, q ExportQuery, accept []string) (router.File, *ExportLink, error) {
	format := q.Format
	if format == "" {
		format = CSV
		for _, a := range accept {
			if strings.Contains(a, JSONLType) {
				format = JSONL
			}
		}
	}
	o := ExportOptions{Format: format, Hashes: q.IncludePasswordHashes}
	cols, err := exportColumns(p, o)
	if err != nil {
		return router.File{}, nil, err
	}
	max := s.exportMax
	if max <= 0 {
		max = MaxExportBody
	}
	k := &sink{max: max, spill: s.exports != nil}
	defer k.close()
	n, err := s.writeExport(ctx, p, o, k)
	if errors.Is(err, errTooLarge) {
		return router.File{}, nil, problem.New(http.StatusUnprocessableEntity, "export_too_large",
			fmt.Sprintf("The export exceeds %d MiB; use the admin command (guichet users export).", max>>20))
	}
	if err != nil {
		return router.File{}, nil, err
	}
	if err := s.store.AddAudit(ctx, s.exportAudit(p, cols, n)); err != nil {
		return router.File{}, nil, err
	}
	if k.file == nil {
		f := router.File{ContentType: CSVType + "; charset=utf-8", Name: "users.csv", Data: k.mem.Bytes()}
		if format == JSONL {
			f.ContentType, f.Name = JSONLType, "users.jsonl"
		}
		return f, nil, nil
	}
	body, err := k.rewind()
	if err != nil {
		return router.File{}, nil, err
	}
	key := exports.Key(p.Org, format)
	if err := s.exports.Put(ctx, key, body); err != nil {
		return router.File{}, nil, err
	}
	// Taken before the link is signed: the link lasts at least this long.
	expires := s.now().Add(exports.LinkTTL).UTC().Truncate(time.Second)
	url, err := s.exports.Link(ctx, key, exports.LinkTTL)
	if err != nil {
		return router.File{}, nil, err
	}
	return router.File{}, &ExportLink{URL: url, Expires: expires}, nil
}
