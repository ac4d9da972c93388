package users

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzImportRow feeds the import parser arbitrary CSV and JSON Lines: it
// must never panic, every row must be readable or carry its reason, lines
// must be in order, and a row it reads must come back the same after an
// export (CSV escaping included).
func FuzzImportRow(f *testing.F) {
	seeds := []string{
		"email,first_name,last_name,role\nada@example.com,Ada,Lovelace,member\n",
		"email,first_name\n\"quoted, comma\",\"multi\nline\"\n",
		"email,units,all_units\nx@example.com,unt_a;unt_b,false\n",
		"email,first_name\nx@example.com,'=1+1\n",
		"email,first_name,last_name\nx@example.com,\"Bob;=1+1;\",\"a, \"\"@x\tb\"\n",
		"email,first_name\nx@example.com,\"a;'=b;''c\"\n",
		"email\n\"bare\"quote\n",
		"\uFEFFemail,password_hash\nx@example.com,$2y$10$zZvb7YZ1gtBWjTk70TCbI.I8fYfOxqUY./b6eoLwp9.d2oSN/cIiK\n",
		"email,email\n",
		"email,first_name\nx@example.com\n",
		"email\n\xff\xfe\n",
		`{"email":"a@example.com","units":["unt_a"],"all_units":false}` + "\n",
		`{"email":"a@example.com","email":"b@example.com"}`,
		`{"first_name":"\u0000"}` + "\n" + `[1,2]`,
		"\n\n{}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, csvFormat bool) {
		format := JSONL
		if csvFormat {
			format = CSV
		}
		rows, err := ParseRows(body, format, 50)
		if err != nil {
			return // a file-level refusal (header, row count) is a problem, not a panic
		}
		last := 0
		for _, r := range rows {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Err != nil {
				if r.Err.Field == "" || r.Err.Message == "" {
					t.Fatalf("row without a reason: %+v", r)
				}
				continue
			}
			rec := r.Record
			for _, c := range append(Columns, HashColumn) {
				if !utf8.ValidString(rec.cell(c)) {
					t.Fatalf("invalid UTF-8 read in %s", c)
				}
			}
			if !csvFormat {
				continue
			}
			var out bytes.Buffer
			if err := WriteCSV(&out, []Record{rec}, true, true); err != nil {
				t.Fatal(err)
			}
			again, err := ParseRows(out.Bytes(), CSV, 1)
			if err != nil || len(again) != 1 || again[0].Err != nil {
				t.Fatalf("re-reading %q: %v %+v", out.String(), err, again)
			}
			got := again[0].Record
			if !reflect.DeepEqual(normalize(got), normalize(rec)) {
				t.Fatalf("round trip:\n got %+v\nwant %+v\n%q", got, rec, out.String())
			}
		}
	})
}

// normalize is a record as CSV can carry it: units without empty items,
// cells without the carriage returns CSV turns into newlines.
func normalize(r Record) Record {
	if len(r.Units) == 0 {
		r.Units = nil
	}
	fix := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
	r.FirstName, r.LastName, r.Email, r.Username = fix(r.FirstName), fix(r.LastName), fix(r.Email), fix(r.Username)
	return r
}

func TestParseRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, format string
		want               []string // per row: field of its error, or "" when read
	}{
		{"a CSV row of the header's width is read", "email,role\na@example.com,member\n", CSV, []string{""}},
		{"a row of another width is that row's error", "email,role\na@example.com\nb@example.com,member\n", CSV, []string{"row", ""}},
		{"a cell that is not UTF-8 is named", "email,first_name\na@example.com,\xff\n", CSV, []string{"first_name"}},
		{"a cell over 1 KiB is named", "email,first_name\na@example.com," + strings.Repeat("n", 1025) + "\n", CSV, []string{"first_name"}},
		{"all_units must be a boolean", "email,all_units\na@example.com,yes\n", CSV, []string{"all_units"}},
		{"a JSON line with an unknown field is refused", `{"email":"a@example.com","x":1}`, JSONL, []string{"row"}},
		{"a JSON line naming a field twice is refused", `{"email":"a@example.com","email":"b@example.com"}`, JSONL, []string{"row"}},
		{"blank JSON lines are skipped", "\n{\"email\":\"a@example.com\"}\n\n", JSONL, []string{""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := ParseRows([]byte(c.body), c.format, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				if r.Err != nil {
					got = append(got, r.Err.Field)
				} else {
					got = append(got, "")
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q (%+v)", got, c.want, rows)
			}
		})
	}
	t.Run("more rows than allowed refuse the file", func(t *testing.T) {
		if _, err := ParseRows([]byte("email\na@x.io\nb@x.io\n"), CSV, 1); err == nil {
			t.Fatal("accepted")
		}
	})
}
