package users_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestImportReadsUnitKinds: unit_kinds come in from CSV (;-separated) and
// JSON Lines (an array), a default unit may be a unit of one of them, and a
// row with an unknown or repeated kind, or a default unit of no kind of its
// own, is refused with nothing of it written.
func TestImportReadsUnitKinds(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	site := unit(t, e, owner, "Site A") // a site
	// A site of another organization is no unit here, whatever its kind.
	if _, _, err := e.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword); err != nil {
		t.Fatal(err)
	}
	theirs := unit(t, e, e.Login(t, "owner@beta.example", apitest.OwnerPassword).AccessToken, "Their site")
	csvFile := strings.Join([]string{
		"username,first_name,last_name,role,unit_kinds,default_unit,password_hash",
		"kinds.ok,Kin,Ds,member,company;level,,\"" + apitest.FakeHash + "\"",                // 2
		"kinds.def,Kin,Def,member,site," + site + ",\"" + apitest.FakeHash + "\"",           // 3
		"kinds.bad,Kin,Bad,member,company;planet,,\"" + apitest.FakeHash + "\"",             // 4
		"kinds.twice,Kin,Twice,member,site;site,,\"" + apitest.FakeHash + "\"",              // 5
		"kinds.wrongdef,Kin,Wrong,member,company," + site + ",\"" + apitest.FakeHash + "\"", // 6
		"kinds.theirs,Kin,Theirs,member,site," + theirs + ",\"" + apitest.FakeHash + "\"",   // 7
	}, "\n") + "\n"
	jsonl := `{"username":"json.ok","first_name":"J","last_name":"S","role":"member","unit_kinds":["establishment"],"password_hash":"` + apitest.FakeHash + `"}
{"username":"json.bad","first_name":"J","last_name":"B","role":"member","unit_kinds":["galaxy"],"password_hash":"` + apitest.FakeHash + `"}
`
	before := items(t, e)
	for _, dry := range []bool{true, false} {
		q := ""
		if dry {
			q = "?dry_run=true"
		}
		rep := importFile(t, e, owner, q, "text/csv", csvFile)
		jrep := importFile(t, e, owner, q, "application/x-ndjson", jsonl)
		var bad []int
		fields := map[int]string{}
		for _, r := range rep.Rejected {
			bad, fields[r.Line] = append(bad, r.Line), r.Field
		}
		if len(rep.Accepted) != 2 || !slices.Equal(bad, []int{4, 5, 6, 7}) ||
			fields[4] != "unit_kinds" || fields[5] != "unit_kinds" || fields[6] != "default_unit" || fields[7] != "default_unit" {
			t.Fatalf("dry run %v: %+v", dry, rep)
		}
		if len(jrep.Accepted) != 1 || len(jrep.Rejected) != 1 || jrep.Rejected[0].Line != 2 || jrep.Rejected[0].Field != "unit_kinds" {
			t.Fatalf("dry run %v: %+v", dry, jrep)
		}
		if dry && !maps.Equal(before, items(t, e)) {
			t.Fatal("a dry run wrote")
		}
	}
	for login, want := range map[string]string{"acme#kinds.ok": "company;level", "acme#kinds.def": "site", "acme#json.ok": "establishment"} {
		if u := userByLogin(t, e, login); strings.Join(u.UnitKinds, ";") != want {
			t.Errorf("%s: kinds %v, want %s", login, u.UnitKinds, want)
		}
	}
	if u := userByLogin(t, e, "acme#kinds.def"); u.DefaultUnit != site {
		t.Errorf("default unit %q, want %s", u.DefaultUnit, site)
	}
	// Nothing of a refused row is written.
	for k := range items(t, e) {
		for _, name := range []string{"kinds.bad", "kinds.twice", "kinds.wrongdef", "kinds.theirs", "json.bad"} {
			if strings.Contains(k, name) {
				t.Fatalf("%s of a refused row is written", k)
			}
		}
	}
}
