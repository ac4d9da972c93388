package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestBodyKeysAreCaseSensitive: encoding/json matches a key to a field
// regardless of case, so a body naming one field twice in two cases could
// mean one thing to a proxy or a log and another to Guichet.
func TestBodyKeysAreCaseSensitive(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("a login naming the owner in another case is refused", func(t *testing.T) {
		body := `{"login":"nobody@acme.example","password":"` + apitest.OwnerPassword + `","LOGIN":"owner@acme.example"}`
		if p := e.Do("POST", "/v1/auth/login", "", body).Problem(t, 400); p.Code != "invalid_json" {
			t.Fatal(p.Code)
		}
	})
	t.Run("an invitation naming its role twice is refused, writing and mailing nothing", func(t *testing.T) {
		before := e.Scan(t)
		body := `{"email":"mallory@example.com","role":"member","Role":"admin"}`
		if p := e.Do("POST", "/v1/invitations", owner, body).Problem(t, 400); p.Code != "invalid_json" {
			t.Fatal(p.Code)
		}
		if after := e.Scan(t); strings.Join(after, "\n") != strings.Join(before, "\n") {
			t.Fatalf("the table changed")
		}
		for _, m := range e.Outbox.Messages() {
			if m.To[0] == "mallory@example.com" {
				t.Fatal("an invitation was mailed")
			}
		}
	})
	t.Run("a JSON Lines import row with a key in another case is rejected", func(t *testing.T) {
		jl := `{"email":"jl.case@example.com","first_name":"J","last_name":"L","role":"member","Role":"admin"}`
		r := e.DoHeader("POST", "/v1/users/import", map[string]string{"Content-Type": "application/x-ndjson",
			"Authorization": "Bearer " + owner, "User-Agent": "apitest"}, jl)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"accepted":[]`) || !strings.Contains(string(r.Body), `"field":"row"`) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestNamesRefuseFormatCharacters: a bidirectional override (U+202E) or
// another format character in a name would make it display as something
// else in mail subjects and pages.
func TestNamesRefuseFormatCharacters(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	unit := e.Do("POST", "/v1/organization/units", owner, map[string]any{"name": "Sales", "kind": "company"})
	var u struct{ ID string }
	unit.Decode(t, &u)
	inv := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "grace@example.com", "role": "member"})
	var w struct{ Link string }
	inv.Decode(t, &w)
	_, tok, _ := strings.Cut(w.Link, "token=")
	spoof := "Bob\u202egnp.exe"
	for _, c := range []struct {
		method, path, field string
		body                map[string]any
	}{
		{"POST", "/v1/users", "first_name", map[string]any{"email": "x1@example.com", "first_name": spoof, "last_name": "L", "role": "member"}},
		{"POST", "/v1/users", "last_name", map[string]any{"email": "x2@example.com", "first_name": "F", "last_name": "a\u200bb", "role": "member"}},
		{"PATCH", "/v1/me", "first_name", map[string]any{"first_name": spoof}},
		{"PATCH", "/v1/organization", "name", map[string]any{"name": spoof}},
		{"PATCH", "/v1/organization", "contact.name", map[string]any{"contact": map[string]any{"name": spoof, "email": "c@example.com"}}},
		{"POST", "/v1/organization/units", "name", map[string]any{"name": spoof, "kind": "site"}},
		{"POST", "/v1/organization/units", "address.line1", map[string]any{"name": "Site", "kind": "site",
			"address": map[string]any{"line1": spoof, "postal_code": "75001", "city": "Paris", "country": "FR"}}},
		{"PATCH", "/v1/organization/units/" + u.ID, "name", map[string]any{"name": spoof}},
		{"POST", "/v1/roles", "name", map[string]any{"name": spoof, "permissions": []string{"users:read"}}},
		{"POST", "/v1/me/api-keys", "name", map[string]any{"name": spoof, "scopes": []string{"users:read"}}},
		{"POST", "/v1/invitations/accept", "first_name", map[string]any{"token": tok, "password": "a-fine-password-7", "first_name": spoof, "last_name": "L"}},
	} {
		t.Run(c.method+" "+c.path+" "+c.field, func(t *testing.T) {
			before := e.Scan(t)
			p := e.Do(c.method, c.path, owner, c.body).Problem(t, 422)
			found := false
			for _, fe := range p.Errors {
				found = found || fe.Field == c.field
			}
			if !found {
				t.Fatalf("%+v", p)
			}
			if after := e.Scan(t); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatal("the table changed")
			}
		})
	}
}

// TestExportNeutralizesFormulasInEveryCell: a spreadsheet splitting the
// export on ";" (French, Dutch) or on tabs and lines starts a cell after
// each of them, so an embedded =, +, - or @ there would be a live formula.
func TestExportNeutralizesFormulasInEveryCell(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for i, name := range []string{"Bob;=1+1;", "Ann,+SUM(A1);x", "Eve; \"@cmd", "Tom;-2+3"} {
		r := e.Do("POST", "/v1/users", owner, map[string]any{"email": fmt.Sprintf("f%d@example.com", i),
			"first_name": name, "last_name": "L", "role": "member"})
		if r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	r := e.Do("GET", "/v1/users/export?format=csv", owner, nil)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	for _, sep := range []string{",", ";", "\t", "\n"} {
		for _, cell := range strings.Split(strings.ReplaceAll(string(r.Body), "\r", "\n"), sep) {
			for _, part := range strings.FieldsFunc(cell, func(r rune) bool { return strings.ContainsRune(",;\t\n", r) }) {
				if p := strings.TrimLeft(part, ` "`); p != "" && strings.ContainsRune("=+-@", rune(p[0])) {
					t.Errorf("split on %q, the cell %q would be a formula", sep, part)
				}
			}
		}
	}
}

// TestInvitationUnitsMustBeTheOrganizations: an invitation naming a unit
// that does not exist or is another organization's is refused before its
// mail goes out, as POST /v1/users refuses such a user.
func TestInvitationUnitsMustBeTheOrganizations(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	if _, _, err := e.Stack.Seed(context.Background(), "Other", "other", "owner@other.example", apitest.OwnerPassword); err != nil {
		t.Fatal(err)
	}
	other := e.Login(t, "owner@other.example", apitest.OwnerPassword).AccessToken
	var theirs struct{ ID string }
	e.Do("POST", "/v1/organization/units", other, map[string]any{"name": "Theirs", "kind": "company"}).Decode(t, &theirs)
	if theirs.ID == "" {
		t.Fatal("no unit")
	}
	for name, unit := range map[string]string{"a unit that does not exist": "unt_doesnotexist", "another organization's unit": theirs.ID} {
		t.Run(name, func(t *testing.T) {
			before, mails := e.Scan(t), len(e.Outbox.Messages())
			p := e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "unit@example.com", "role": "member", "units": []string{unit}}).Problem(t, 422)
			if len(p.Errors) != 1 || p.Errors[0].Field != "units" {
				t.Fatalf("%+v", p)
			}
			if strings.Join(e.Scan(t), "\n") != strings.Join(before, "\n") || len(e.Outbox.Messages()) != mails {
				t.Fatal("something was written or mailed")
			}
		})
	}
}

// TestNumbersAreBoundedBeforeArithmetic: grace_seconds times a second
// overflowed to a negative duration that passed the bound and ended the
// old key at once.
func TestNumbersAreBoundedBeforeArithmetic(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	r := e.Do("POST", "/v1/me/api-keys", owner, map[string]any{"name": "Old", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"key"`
	}
	r.Decode(t, &k)
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	for _, grace := range []string{"9223372037", "9223372036854775807", "-9223372036854775808", "18446744073709551616"} {
		t.Run(grace, func(t *testing.T) {
			before := e.Scan(t)
			p := e.Do("POST", "/v1/me/api-keys/"+k.ID+"/rotate", owner, `{"current_password":"`+apitest.OwnerPassword+`","grace_seconds":`+grace+`}`)
			if p.Status != 422 && p.Status != 400 {
				t.Fatalf("%d %s", p.Status, p.Body)
			}
			if pr := p.Problem(t, p.Status); p.Status == 422 && (len(pr.Errors) != 1 || pr.Errors[0].Field != "grace_seconds") {
				t.Fatalf("refused for another reason: %s", p.Body)
			}
			if strings.Join(e.Scan(t), "\n") != strings.Join(before, "\n") {
				t.Fatal("the table changed")
			}
			if r := e.Do("GET", "/v1/me", k.Secret, nil); r.Status != 200 {
				t.Fatalf("the old key stopped working: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestLogoCSSCannotLoadResources: CSS in an SVG logo may set only drawing
// and text properties, calling only colour and transform functions and
// url(#id); image-set() and its kin loaded outside resources in Chromium.
func TestLogoCSSCannotLoadResources(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	svg := func(inner string) string {
		return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">` + inner + `</svg>`
	}
	put := func(body string) *apitest.Response {
		return e.DoHeader("PUT", "/v1/organization/logo", map[string]string{"Content-Type": "image/svg+xml",
			"Authorization": "Bearer " + owner, "User-Agent": "apitest"}, body)
	}
	for name, body := range map[string]string{
		"image-set() in a style element":          svg(`<style>rect { fill: red; mask: image-set("http://evil.example/a.png" 1x) }</style><rect/>`),
		"image-set() in a style attribute":        svg(`<rect style="mask-image: image-set('http://evil.example/a.png' 1x)"/>`),
		"image-set() in an allowed property":      svg(`<rect style="mask: image-set('http://evil.example/a.png' 1x)"/>`),
		"image-set() in a presentation attribute": svg(`<rect mask="image-set('http://evil.example/a.png' 1x)"/>`),
		"-webkit-image-set()":                     svg(`<rect style="fill: -webkit-image-set(url(http://evil.example/a.png) 1x)"/>`),
		"a background":                            svg(`<style>svg { background: red }</style>`),
		"@font-face":                              svg(`<style>@font-face { font-family: x; src: url(#a) }</style>`),
		"a custom property":                       svg(`<rect style="--x: red; fill: var(--x)"/>`),
		"a cursor":                                svg(`<rect style="cursor: pointer"/>`),
		"a comment splitting a function":          svg(`<style>rect { fill: image/**/-set("http://evil.example/a.png" 1x) }</style>`),
	} {
		t.Run(name, func(t *testing.T) {
			if p := put(body).Problem(t, 415); p.Code != "unsafe_svg" {
				t.Fatal(p.Code)
			}
		})
	}
	t.Run("drawing CSS with colours, transforms and url(#id) is accepted", func(t *testing.T) {
		body := svg(`<defs><linearGradient id="g"><stop offset="0" stop-color="rgb(1,2,3)"/></linearGradient></defs>` +
			`<style>/* brand */ .t { font-family: 'Open Sans', sans-serif; fill: url(#g) !important }</style>` +
			`<rect class="t" transform="translate(1 2) rotate(3)" style="stroke: hsl(0, 50%, 50%); stroke-width: 1"/>`)
		if r := put(body); r.Status != 200 && r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestRepeatedParametersAreRefused: a query parameter or a page's form
// field sent twice would mean whichever a parser keeps.
func TestRepeatedParametersAreRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for _, path := range []string{"/v1/users?role=member&role=admin", "/v1/users?limit=1&limit=100"} {
		t.Run(path, func(t *testing.T) {
			if p := e.Do("GET", path, owner, nil).Problem(t, 422); p.Code != "validation_failed" {
				t.Fatal(p.Code)
			}
		})
	}
	t.Run("a login form naming its login twice", func(t *testing.T) {
		r := e.DoHeader("POST", "/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "apitest"},
			"login=nobody%40acme.example&login=owner%40acme.example&password="+apitest.OwnerPassword)
		if r.Status != 400 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
