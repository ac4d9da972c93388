package organization_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/permission"
)

func TestTheOrganizationCanBeReadAndChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken

	t.Run("reading it costs the authorizer one read and the function one GetItem", func(t *testing.T) {
		e.ResetCounters()
		var o organization.Organization
		r := e.Do("GET", "/v1/organization", tok, nil)
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		r.Decode(t, &o)
		if o.ID != e.Org.Org.ID || o.Code != "acme" || o.Name != "Acme" || o.OwnerID != e.Org.Owner.ID || o.Contact != nil {
			t.Fatalf("organization %+v", o)
		}
		if got := e.Counters["authorizer"].Calls(); got != 1 {
			t.Errorf("authorizer made %d calls", got)
		}
		made(t, e, "GetItem")
	})

	t.Run("a PATCH changes only the fields present, in one GetItem and one transaction, audited", func(t *testing.T) {
		e.ResetCounters()
		body := map[string]any{
			"name": "Acme Industries", "language": "fr",
			"contact":     map[string]any{"name": "Antoine Dupont", "email": "antoine@ACME.example", "phone": "+33 1 23 45 67 89"},
			"head_office": map[string]any{"line1": "1 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"},
		}
		r := e.Do("PATCH", "/v1/organization", tok, body)
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var o organization.Organization
		r.Decode(t, &o)
		if o.Name != "Acme Industries" || o.Language != "fr" || o.Code != "acme" ||
			o.Contact == nil || o.Contact.Email != "antoine@acme.example" ||
			o.HeadOffice == nil || o.HeadOffice.City != "Paris" || o.HeadOffice.Country != "FR" {
			t.Fatalf("organization %+v", o)
		}
		made(t, e, "GetItem", "TransactWriteItems")
		var again organization.Organization
		e.Do("GET", "/v1/organization", tok, nil).Decode(t, &again)
		if again.Name != o.Name || *again.HeadOffice != *o.HeadOffice || *again.Contact != *o.Contact {
			t.Fatalf("read back %+v", again)
		}
		ev := lastEvent(t, e, tok)
		if ev.Action != "organization.update" || ev.Target != "organization:"+e.Org.Org.ID ||
			!slices.Equal(ev.Fields, []string{"name", "language", "contact", "head_office"}) ||
			ev.Actor != e.Org.Owner.ID || !strings.HasPrefix(ev.Via, "session:") {
			t.Fatalf("audit event %+v", ev)
		}
	})

	t.Run("a PATCH of one field keeps the others", func(t *testing.T) {
		r := e.Do("PATCH", "/v1/organization", tok, map[string]any{"language": "nl"})
		var o organization.Organization
		r.Decode(t, &o)
		if o.Language != "nl" || o.Name != "Acme Industries" || o.Contact == nil || o.HeadOffice == nil {
			t.Fatalf("organization %+v", o)
		}
	})

	t.Run("a PATCH that changes nothing answers 200 and writes nothing", func(t *testing.T) {
		before := e.Scan(t)
		e.ResetCounters()
		r := e.Do("PATCH", "/v1/organization", tok, map[string]any{"name": "Acme Industries", "language": "nl"})
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		made(t, e, "GetItem")
		unchanged(t, e, before)
	})
}

func TestABadOrganizationPatchIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	office := func(change func(map[string]any)) map[string]any {
		a := map[string]any{"line1": "1 Main St", "postal_code": "1000", "city": "Brussels", "country": "BE"}
		change(a)
		return map[string]any{"head_office": a}
	}
	cases := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"the code, which is immutable, is 422 naming it", map[string]any{"code": "other"}, 422, []string{"code"}},
		{"the id, which is not a field, is 400", map[string]any{"id": "org_x"}, 400, nil},
		{"an unknown field is 400", map[string]any{"theme": "dark"}, 400, nil},
		{"invalid JSON is 400", `{"name":`, 400, nil},
		{"a duplicate field is 400", `{"name":"a","name":"b"}`, 400, nil},
		{"a name of the wrong type is 400", map[string]any{"name": 3}, 400, nil},
		{"an empty name is 422", map[string]any{"name": " "}, 422, []string{"name"}},
		{"a name over 200 characters is 422", map[string]any{"name": strings.Repeat("é", 201)}, 422, []string{"name"}},
		{"a name with control characters is 422", map[string]any{"name": "a\u0007b"}, 422, []string{"name"}},
		{"an unknown language is 422", map[string]any{"language": "de"}, 422, []string{"language"}},
		{"a contact without name or e-mail is 422 naming both", map[string]any{"contact": map[string]any{}}, 422, []string{"contact.name", "contact.email"}},
		{"a contact with a bad e-mail and phone is 422", map[string]any{"contact": map[string]any{"name": "A", "email": "Antoine <a@b.example>", "phone": "call me"}}, 422, []string{"contact.email", "contact.phone"}},
		{"an address without its required parts is 422 naming each", map[string]any{"head_office": map[string]any{}}, 422,
			[]string{"head_office.line1", "head_office.postal_code", "head_office.city", "head_office.country"}},
		{"a lower-case country is 422", office(func(a map[string]any) { a["country"] = "be" }), 422, []string{"head_office.country"}},
		{"an unassigned country code is 422", office(func(a map[string]any) { a["country"] = "XX" }), 422, []string{"head_office.country"}},
		{"a three-letter country is 422", office(func(a map[string]any) { a["country"] = "BEL" }), 422, []string{"head_office.country"}},
		{"an unknown address field is 400", office(func(a map[string]any) { a["lat"] = 4 }), 400, nil},
		{"every bad field at once is one 422 listing them all", map[string]any{"code": "x", "name": "", "language": "xx"}, 422, []string{"code", "name", "language"}},
	}
	for _, c := range cases {
		t.Run("a PATCH with "+c.name, func(t *testing.T) {
			p := refused(t, e, "PATCH", "/v1/organization", tok, c.body, c.status)
			if !slices.Equal(fieldsOf(p), c.fields) {
				t.Fatalf("field errors %+v, want %v", p.Errors, c.fields)
			}
		})
	}
}

// The router refuses by permission; this checks the route table gives
// every organization route one that a member lacks.
func TestAMemberIsRefusedEveryOrganizationRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := memberToken(t, e)
	var me struct{ Role string }
	if e.Do("GET", "/v1/me", tok, nil).Decode(t, &me); me.Role != permission.RoleMember {
		t.Fatalf("the token is not a member's: %+v", me)
	}
	routes := []struct{ method, path string }{
		{"GET", "/v1/organization"}, {"PATCH", "/v1/organization"},
		{"GET", "/v1/organization/logo"}, {"PUT", "/v1/organization/logo"},
		{"GET", "/v1/organization/units"}, {"POST", "/v1/organization/units"},
		{"PATCH", "/v1/organization/units/unt_aaaaaaaaaaaaaaaa"}, {"DELETE", "/v1/organization/units/unt_aaaaaaaaaaaaaaaa"},
		{"GET", "/v1/audit"},
	}
	before := e.Scan(t)
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path+" is 403 for a member", func(t *testing.T) {
			e.ResetCounters()
			if p := e.Do(rt.method, rt.path, tok, json.RawMessage(`{"name":"x"}`)).Problem(t, http.StatusForbidden); p.Code != "forbidden" {
				t.Fatalf("code %q", p.Code)
			}
			if n := calls(e); n != 0 {
				t.Fatalf("the function made %d DynamoDB calls for a refused request", n)
			}
		})
	}
	unchanged(t, e, before)
}

func TestAnAdminSeesOnlyTheirOwnOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other, _, err := e.Seed(t.Context(), "Other", "other", "boss@other.example", "other-password-123")
	if err != nil {
		t.Fatal(err)
	}
	boss := e.Login(t, "boss@other.example", "other-password-123").AccessToken
	e.Do("PATCH", "/v1/organization", boss, map[string]any{"name": "Other Ltd"})
	var o organization.Organization
	e.Do("GET", "/v1/organization", e.LoginOwner(t).AccessToken, nil).Decode(t, &o)
	if o.ID != e.Org.Org.ID || o.Name != "Acme" {
		t.Fatalf("acme reads %+v", o)
	}
	e.Do("GET", "/v1/organization", boss, nil).Decode(t, &o)
	if o.ID != other.Org.ID || o.Name != "Other Ltd" {
		t.Fatalf("other reads %+v", o)
	}
}
