package organization_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

func TestTheAuditTrailIsListedNewestFirstAPageAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	for i := range 7 {
		e.Clock.Advance(time.Second)
		name := fmt.Sprint("Acme ", i)
		if r := e.Do("PATCH", "/v1/organization", tok, map[string]any{"name": name}); r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
	}

	t.Run("the default page holds every event, newest first, ending with the creation", func(t *testing.T) {
		var p auditPage
		e.Do("GET", "/v1/audit", tok, nil).Decode(t, &p)
		if len(p.Items) != 8 || p.NextCursor != "" {
			t.Fatalf("%d items, next %q", len(p.Items), p.NextCursor)
		}
		if p.Items[0].Action != "organization.update" || p.Items[7].Action != "organization.create" {
			t.Fatalf("order %+v", p.Items)
		}
	})

	t.Run("pages of 3 list every event once, in order, one Query each", func(t *testing.T) {
		var all []auditEvent
		next := ""
		for pages := 1; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			q := "/v1/audit?limit=3"
			if next != "" {
				q += "&cursor=" + next
			}
			e.ResetCounters()
			var p auditPage
			e.Do("GET", q, tok, nil).Decode(t, &p)
			made(t, e, "Query")
			if len(p.Items) > 3 {
				t.Fatalf("%d items on a page of 3", len(p.Items))
			}
			all = append(all, p.Items...)
			if next = p.NextCursor; next == "" {
				break
			}
		}
		if len(all) != 8 {
			t.Fatalf("%d events listed, want 8", len(all))
		}
		var ids []string
		for _, ev := range all {
			if slices.Contains(ids, ev.ID) {
				t.Fatalf("event %s listed twice", ev.ID)
			}
			ids = append(ids, ev.ID)
		}
		if all[7].Action != "organization.create" || all[0].Fields[0] != "name" {
			t.Fatalf("order %+v", all)
		}
	})

	t.Run("a bad limit or cursor is refused", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=x"} {
			if p := e.Do("GET", "/v1/audit?"+q, tok, nil).Problem(t, 422); p.Errors[0].Field != "limit" {
				t.Fatalf("%s: %+v", q, p.Errors)
			}
		}
		if p := e.Do("GET", "/v1/audit?cursor=!!!", tok, nil).Problem(t, 400); p.Code != "invalid_cursor" {
			t.Fatalf("code %q", p.Code)
		}
		if p := e.Do("GET", "/v1/audit?cursor=eyJvIjoieCJ9", tok, nil).Problem(t, 400); p.Code != "invalid_cursor" {
			t.Fatalf("code %q", p.Code)
		}
	})

	t.Run("another organization's owner does not see this trail", func(t *testing.T) {
		if _, _, err := e.Seed(t.Context(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
			t.Fatal(err)
		}
		boss := e.Login(t, "boss@other.example", "other-password-123").AccessToken
		var p auditPage
		e.Do("GET", "/v1/audit", boss, nil).Decode(t, &p)
		if len(p.Items) != 1 || p.Items[0].Action != "organization.create" {
			t.Fatalf("other trail %+v", p.Items)
		}
	})
}

// The same check as the gateway's: after exercising every route of the
// organization function, it has called only the actions of its spec.
func TestTheOrganizationFunctionCallsOnlyTheActionsOfItsSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	e.ResetCounters()
	exercise(t, e, tok)
	spec := apitest.SpecOf(route.Organization)
	for _, op := range e.OutsideSpec(route.Organization) {
		t.Errorf("the organization function called %s, outside its spec %v", op, spec.DynamoDB)
	}
}

// exercise calls every route of the organization function, on success
// and refusal paths.
func exercise(t *testing.T, e *apitest.Env, tok string) {
	e.Do("GET", "/v1/organization", tok, nil)
	e.Do("PATCH", "/v1/organization", tok, map[string]any{"name": "Acme 2"})
	e.Do("PATCH", "/v1/organization", tok, map[string]any{"name": "Acme 2"})
	raw(e, "PUT", "/v1/organization/logo", tok, "image/png", pngImage(t))
	e.Do("GET", "/v1/organization/logo", tok, nil)
	a := createUnit(t, e, tok, map[string]any{"name": "A", "kind": "company"})
	b := createUnit(t, e, tok, map[string]any{"name": "B", "kind": "site", "parent": a.ID})
	e.Do("POST", "/v1/organization/units", tok, map[string]any{"name": "C", "kind": "site", "parent": "unt_aaaaaaaaaaaaaaaa"})
	e.Do("GET", "/v1/organization/units", tok, nil)
	e.Do("PATCH", "/v1/organization/units/"+b.ID, tok, map[string]any{"name": "B2"})
	e.Do("PATCH", "/v1/organization/units/"+a.ID, tok, map[string]any{"parent": b.ID})
	e.Do("DELETE", "/v1/organization/units/"+a.ID, tok, nil)
	e.Do("PATCH", "/v1/organization/units/"+b.ID, tok, map[string]any{"parent": ""})
	e.Do("DELETE", "/v1/organization/units/"+a.ID, tok, nil)
	e.Do("DELETE", "/v1/organization/units/"+b.ID, tok, nil)
	e.Do("GET", "/v1/audit?limit=2", tok, nil)
}
