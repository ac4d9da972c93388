package users

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/problem"
)

// Formats of exports and imports.
const (
	CSV   = "csv"
	JSONL = "jsonl"
)

// Media types of the formats.
const (
	CSVType   = "text/csv"
	JSONLType = "application/x-ndjson"
)

// Record is one user of an export or an import: a CSV row under the
// Columns header, or a JSON line with the same names. Units are
// ;-separated in CSV and an array in JSON Lines.
type Record struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	Email        string   `json:"email"`
	Username     string   `json:"username"`
	UserCode     string   `json:"user_code"`
	Client       string   `json:"client"`
	FirstName    string   `json:"first_name"`
	LastName     string   `json:"last_name"`
	Language     string   `json:"language"`
	Role         string   `json:"role"`
	Status       string   `json:"status"`
	Units        []string `json:"units"`
	UnitKinds    []string `json:"unit_kinds"`
	AllUnits     bool     `json:"all_units"`
	DefaultUnit  string   `json:"default_unit"`
	Created      string   `json:"created"`
	PasswordHash string   `json:"password_hash,omitempty"`
	// PasswordHashOmitted says why an export with hashes holds none for a
	// user who has one: OmittedShared. An import reads and ignores it.
	PasswordHashOmitted string `json:"password_hash_omitted,omitempty"`
}

// OmittedShared is why the hash of a person who is a member of other
// organizations too is not exported: it opens those as well.
const OmittedShared = "shared_person"

// Columns are the CSV columns of an export, in order; HashColumns come
// last when hashes are exported. An import reads any subset, in any order,
// of these and HashColumns; id, created and password_hash_omitted are read
// and ignored (an imported user gets a new id and creation time).
var Columns = []string{"id", "kind", "email", "username", "user_code", "client", "first_name", "last_name",
	"language", "role", "status", "units", "unit_kinds", "all_units", "default_unit", "created"}

// HashColumn is the column of password hashes, OmittedColumn the reason
// one is left out (Record.PasswordHashOmitted).
const (
	HashColumn    = "password_hash"
	OmittedColumn = "password_hash_omitted"
)

// HashColumns are the columns an export with hashes adds.
var HashColumns = []string{HashColumn, OmittedColumn}

// maxCell is the longest value a cell may hold, in bytes: every field has
// a shorter limit of its own, so longer is no user's data.
const maxCell = 1024

// cell returns the value of column c of r, as text.
func (r Record) cell(c string) string {
	switch c {
	case "id":
		return r.ID
	case "kind":
		return r.Kind
	case "email":
		return r.Email
	case "username":
		return r.Username
	case "user_code":
		return r.UserCode
	case "client":
		return r.Client
	case "first_name":
		return r.FirstName
	case "last_name":
		return r.LastName
	case "language":
		return r.Language
	case "role":
		return r.Role
	case "status":
		return r.Status
	case "units":
		return strings.Join(r.Units, ";")
	case "unit_kinds":
		return strings.Join(r.UnitKinds, ";")
	case "all_units":
		return strconv.FormatBool(r.AllUnits)
	case "default_unit":
		return r.DefaultUnit
	case "created":
		return r.Created
	case HashColumn:
		return r.PasswordHash
	case OmittedColumn:
		return r.PasswordHashOmitted
	}
	return ""
}

// set stores the text v in column c of r; an error names what is wrong.
func (r *Record) set(c, v string) error {
	switch c {
	case "id":
		r.ID = v
	case "kind":
		r.Kind = v
	case "email":
		r.Email = v
	case "username":
		r.Username = v
	case "user_code":
		r.UserCode = v
	case "client":
		r.Client = v
	case "first_name":
		r.FirstName = v
	case "last_name":
		r.LastName = v
	case "language":
		r.Language = v
	case "role":
		r.Role = v
	case "status":
		r.Status = v
	case "units":
		r.Units = list(v)
	case "unit_kinds":
		r.UnitKinds = list(v)
	case "all_units":
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "false":
			r.AllUnits = false
		case "true":
			r.AllUnits = true
		default:
			return errors.New("must be true or false")
		}
	case "default_unit":
		r.DefaultUnit = v
	case "created":
		r.Created = v
	case HashColumn:
		r.PasswordHash = v
	}
	return nil
}

// list reads a ;-separated cell.
func list(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ";") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Row is one data row of an import file: its record, or why it could not
// be read.
type Row struct {
	// Line is the row's first line in the file, from 1 (a CSV header is
	// line 1).
	Line   int
	Record Record
	// Err, when set, says why the row could not be read; Record is then
	// incomplete.
	Err *problem.FieldError
}

func rowErr(line int, field, format string, args ...any) Row {
	return Row{Line: line, Err: &problem.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}}
}

// MaxRows is the most users one import takes.
const MaxRows = 10000

// tooManyRows is the problem of a file of more than MaxRows users.
func tooManyRows() *problem.Problem {
	return problem.New(http.StatusUnprocessableEntity, "too_many_rows",
		fmt.Sprintf("An import takes at most %d users; split the file.", MaxRows))
}

// ParseRows reads the rows of an import body in format (CSV or JSONL). A
// row that cannot be read is returned with its Err; the file as a whole is
// refused (a problem) only for a bad CSV header or more than max rows.
func ParseRows(body []byte, format string, max int) ([]Row, error) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF")) // spreadsheets write a BOM
	switch format {
	case CSV:
		return parseCSV(body, max)
	case JSONL:
		return parseJSONL(body, max)
	}
	return nil, problem.New(http.StatusUnsupportedMediaType, "unsupported_format",
		"An import is text/csv (with a header row) or application/x-ndjson (JSON Lines).")
}

func badHeader(detail string) *problem.Problem {
	return problem.Invalid(problem.FieldError{Field: "header", Message: detail})
}

func parseCSV(body []byte, max int) ([]Row, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1 // a row of another width is that row's error, not the file's
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, badHeader("the file is empty; its first line names the columns")
	}
	if err != nil {
		return nil, badHeader("the header row is not valid CSV")
	}
	known := append(slices.Clone(Columns), HashColumns...)
	seen := map[string]bool{}
	for i, c := range header {
		c = strings.ToLower(strings.TrimSpace(c))
		header[i] = c
		if !utf8.ValidString(c) || !slices.Contains(known, c) {
			return nil, badHeader(fmt.Sprintf("column %d (%.40q) is not one of %s", i+1, c, strings.Join(known, ", ")))
		}
		if seen[c] {
			return nil, badHeader(fmt.Sprintf("column %s appears twice", c))
		}
		seen[c] = true
	}
	var rows []Row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		var line int
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		} else if err == nil {
			line, _ = r.FieldPos(0)
		}
		if len(rows) >= max {
			return nil, tooManyRows()
		}
		switch {
		case err != nil:
			rows = append(rows, rowErr(line, "row", "is not valid CSV: %s", csvReason(err)))
		case len(rec) != len(header):
			rows = append(rows, rowErr(line, "row", "has %d columns; the header has %d", len(rec), len(header)))
		default:
			rows = append(rows, csvRow(line, header, rec))
		}
	}
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable"
}

func csvRow(line int, header, rec []string) Row {
	row := Row{Line: line}
	for i, v := range rec {
		c := header[i]
		if !utf8.ValidString(v) {
			return rowErr(line, c, "is not valid UTF-8")
		}
		if len(v) > maxCell {
			return rowErr(line, c, "is longer than %d bytes", maxCell)
		}
		if err := row.Record.set(c, unescapeCell(v)); err != nil {
			return rowErr(line, c, "%s", err.Error())
		}
	}
	return row
}

func parseJSONL(body []byte, max int) ([]Row, error) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	var rows []Row
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(rows) >= max {
			return nil, tooManyRows()
		}
		rows = append(rows, jsonRow(line, b))
	}
	if err := sc.Err(); err != nil {
		return nil, badHeader("the file could not be read as lines")
	}
	return rows, nil
}

// jsonRow reads one JSON line: one object with Record's fields only.
func jsonRow(line int, b []byte) Row {
	if !utf8.Valid(b) {
		return rowErr(line, "row", "is not valid UTF-8")
	}
	if len(b) > 16*maxCell {
		return rowErr(line, "row", "is longer than %d bytes", 16*maxCell)
	}
	var rec Record
	if err := httpapi.DecodeBytes(b, &rec); err != nil {
		detail := "is not one JSON object"
		if p, ok := problem.As(err); ok {
			detail = p.Detail
		}
		return rowErr(line, "row", "%s", strings.Replace(detail, "The request body", "The line", 1))
	}
	for _, c := range append(slices.Clone(Columns), HashColumns...) {
		if v := rec.cell(c); len(v) > maxCell && c != "units" && c != "unit_kinds" {
			return rowErr(line, c, "is longer than %d bytes", maxCell)
		}
	}
	return Row{Line: line, Record: rec}
}

// formulaStarts are the characters that make a spreadsheet read a cell
// as a formula (and the apostrophe that escapes them); cellBreaks are where
// a spreadsheet may start a new cell or line: both separators (a French or
// Dutch spreadsheet splits on ";"), tab and line ends.
const (
	formulaStarts = "=+-@\t\r'"
	cellBreaks    = ",;\t\r\n"
)

// escapeCell protects a CSV cell from being run as a formula by a
// spreadsheet (CSV injection): wherever a spreadsheet may start a cell (the
// start, or after a separator, a tab or a line end, then any spaces or
// quotes), a character from formulaStarts gets an apostrophe before it,
// which unescapeCell removes.
func escapeCell(v string) string {
	var b strings.Builder
	start := true
	for i := range len(v) {
		c := v[i]
		if start && strings.IndexByte(formulaStarts, c) >= 0 {
			b.WriteByte('\'')
		}
		b.WriteByte(c)
		start = strings.IndexByte(cellBreaks, c) >= 0 || start && (c == ' ' || c == '"')
	}
	return b.String()
}

// unescapeCell undoes escapeCell.
func unescapeCell(v string) string {
	var b strings.Builder
	start := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if start && c == '\'' && i+1 < len(v) && strings.IndexByte(formulaStarts, v[i+1]) >= 0 {
			i++
			c = v[i]
		}
		b.WriteByte(c)
		start = strings.IndexByte(cellBreaks, c) >= 0 || start && (c == ' ' || c == '"')
	}
	return b.String()
}

// WriteCSV writes records as CSV with a header row, including the
// HashColumns when hashes is true.
func WriteCSV(w io.Writer, recs []Record, hashes, header bool) error {
	cols := Columns
	if hashes {
		cols = append(slices.Clone(Columns), HashColumns...)
	}
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(cols); err != nil {
			return err
		}
	}
	line := make([]string, len(cols))
	for _, r := range recs {
		for i, c := range cols {
			line[i] = escapeCell(r.cell(c))
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSONL writes records as JSON Lines.
func WriteJSONL(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if r.Units == nil {
			r.Units = []string{}
		}
		if r.UnitKinds == nil {
			r.UnitKinds = []string{}
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// record is the export form of a user.
func record(u User, hash, omitted string) Record {
	return Record{ID: u.ID, Kind: u.Kind, Email: u.Email, Username: u.Username, UserCode: u.UserCode,
		Client: u.Client, FirstName: u.FirstName, LastName: u.LastName, Language: u.Language, Role: u.Role,
		Status: u.Status, Units: u.Units, UnitKinds: u.UnitKinds, AllUnits: u.AllUnits, DefaultUnit: u.DefaultUnit,
		Created: u.Created.UTC().Format(time.RFC3339), PasswordHash: hash, PasswordHashOmitted: omitted}
}
