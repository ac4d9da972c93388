package organization_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/organization"
	"github.com/guichet/guichet/shared/permission"
)

// createUnit adds a unit, failing t unless it is created.
func createUnit(t testing.TB, e *apitest.Env, tok string, body map[string]any) organization.Unit {
	t.Helper()
	return apitest.Want[organization.Unit](t, e.Do("POST", "/v1/organization/units", tok, body), http.StatusCreated, "create unit")
}

func listUnits(t testing.TB, e *apitest.Env, tok, query string) organization.UnitPage {
	t.Helper()
	return apitest.Want[organization.UnitPage](t, e.Do("GET", "/v1/organization/units"+query, tok, nil), 200, "list units")
}

// patchUnit sends a PATCH of unit id and returns the answer and the unit
// it holds.
func patchUnit(t testing.TB, e *apitest.Env, tok, id string, body map[string]any) (*apitest.Response, organization.Unit) {
	t.Helper()
	r := e.Do("PATCH", "/v1/organization/units/"+id, tok, body)
	var u organization.Unit
	r.Decode(t, &u)
	return r, u
}

func TestUnitsCanBeCreatedListedChangedAndDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	var company, site organization.Unit

	t.Run("a unit is created in one transaction and audited", func(t *testing.T) {
		e.ResetCounters()
		company = createUnit(t, e, tok, map[string]any{"name": "Acme France", "kind": "company"})
		made(t, e, "TransactWriteItems")
		if company.Name != "Acme France" || company.Kind != "company" || company.Parent != "" || company.UserCount != 0 {
			t.Fatalf("unit %+v", company)
		}
		if ev := lastEvent(t, e, tok); ev.Action != "unit.create" || ev.Target != "unit:"+company.ID {
			t.Fatalf("audit event %+v", ev)
		}
	})

	t.Run("a child unit with an address and coordinates is created under it", func(t *testing.T) {
		e.Clock.Advance(time.Second)
		site = createUnit(t, e, tok, map[string]any{"name": "Lyon depot", "kind": "site", "parent": company.ID,
			"address":  map[string]any{"line1": "3 quai Rambaud", "postal_code": "69002", "city": "Lyon", "country": "FR"},
			"latitude": 45.74, "longitude": 4.81})
		if site.Parent != company.ID || site.Address == nil || site.Address.City != "Lyon" || *site.Latitude != 45.74 {
			t.Fatalf("unit %+v", site)
		}
	})

	t.Run("the list holds both, in one Query", func(t *testing.T) {
		e.ResetCounters()
		p := listUnits(t, e, tok, "")
		if len(p.Items) != 2 || p.NextCursor != "" {
			t.Fatalf("page %+v", p)
		}
		made(t, e, "Query")
	})

	t.Run("a PATCH without parent changes only the fields present in one GetItem and one transaction", func(t *testing.T) {
		e.Clock.Advance(time.Second)
		e.ResetCounters()
		r, u := patchUnit(t, e, tok, site.ID, map[string]any{"name": "Lyon warehouse"})
		if r.Status != 200 || u.Name != "Lyon warehouse" || u.Parent != company.ID || u.Address == nil || u.Latitude == nil {
			t.Fatalf("status %d, unit %+v", r.Status, u)
		}
		made(t, e, "GetItem", "TransactWriteItems")
		if ev := lastEvent(t, e, tok); ev.Action != "unit.update" || !slices.Equal(ev.Fields, []string{"name"}) {
			t.Fatalf("audit event %+v", ev)
		}
	})

	t.Run("a PATCH that changes nothing writes nothing", func(t *testing.T) {
		before := e.Scan(t)
		r := e.Do("PATCH", "/v1/organization/units/"+site.ID, tok, map[string]any{"name": "Lyon warehouse", "kind": "site"})
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		unchanged(t, e, before)
	})

	t.Run("a unit with a child cannot be deleted", func(t *testing.T) {
		if p := refused(t, e, "DELETE", "/v1/organization/units/"+company.ID, tok, nil, 409); p.Code != "unit_has_children" {
			t.Fatalf("code %q", p.Code)
		}
	})

	t.Run("moving the child to the top level frees the parent, which can then be deleted", func(t *testing.T) {
		e.Clock.Advance(time.Second)
		e.ResetCounters()
		r, u := patchUnit(t, e, tok, site.ID, map[string]any{"parent": ""})
		if r.Status != 200 || u.Parent != "" {
			t.Fatalf("status %d, unit %+v", r.Status, u)
		}
		made(t, e, "GetItem", "Query", "TransactWriteItems")
		e.Clock.Advance(time.Second)
		e.ResetCounters()
		if r := e.Do("DELETE", "/v1/organization/units/"+company.ID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		made(t, e, "GetItem", "TransactWriteItems")
		if ev := lastEvent(t, e, tok); ev.Action != "unit.delete" || ev.Target != "unit:"+company.ID {
			t.Fatalf("audit event %+v", ev)
		}
		if p := listUnits(t, e, tok, ""); len(p.Items) != 1 || p.Items[0].ID != site.ID {
			t.Fatalf("page %+v", p)
		}
	})

	t.Run("a deleted unit is 404", func(t *testing.T) {
		e.Do("DELETE", "/v1/organization/units/"+company.ID, tok, nil).Problem(t, 404)
		e.Do("PATCH", "/v1/organization/units/"+company.ID, tok, map[string]any{"name": "x"}).Problem(t, 404)
	})
}

func TestUnitsFormATree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	a := createUnit(t, e, tok, map[string]any{"name": "A", "kind": "company"})
	b := createUnit(t, e, tok, map[string]any{"name": "B", "kind": "establishment", "parent": a.ID})
	c := createUnit(t, e, tok, map[string]any{"name": "C", "kind": "site", "parent": b.ID})
	cases := []struct{ name, unit, parent string }{
		{"a unit under itself", a.ID, a.ID},
		{"a unit under its child", a.ID, b.ID},
		{"a unit under its grandchild", a.ID, c.ID},
		{"a unit under a unit that does not exist", b.ID, "unt_aaaaaaaaaaaaaaaa"},
		{"a unit under something that is not a unit id", b.ID, "ORG#x"},
	}
	for _, x := range cases {
		t.Run("moving "+x.name+" is 422 naming parent and writes nothing", func(t *testing.T) {
			p := refused(t, e, "PATCH", "/v1/organization/units/"+x.unit, tok, map[string]any{"parent": x.parent}, 422)
			if len(p.Errors) != 1 || p.Errors[0].Field != "parent" {
				t.Fatalf("field errors %+v", p.Errors)
			}
		})
	}
	t.Run("moving a unit under a sibling's branch is allowed", func(t *testing.T) {
		d := createUnit(t, e, tok, map[string]any{"name": "D", "kind": "level"})
		r := e.Do("PATCH", "/v1/organization/units/"+c.ID, tok, map[string]any{"parent": d.ID})
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		// b lost its only child: it can go now.
		if r := e.Do("DELETE", "/v1/organization/units/"+b.ID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	})
	t.Run("creating a unit under one that does not exist is 422 and writes nothing", func(t *testing.T) {
		p := refused(t, e, "POST", "/v1/organization/units", tok, map[string]any{"name": "X", "kind": "site", "parent": b.ID}, 422)
		if len(p.Errors) != 1 || p.Errors[0].Field != "parent" {
			t.Fatalf("field errors %+v", p.Errors)
		}
	})
}

func TestTwoConcurrentMovesCannotCloseACycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	for round := range 5 {
		a := createUnit(t, e, tok, map[string]any{"name": "A", "kind": "level"})
		b := createUnit(t, e, tok, map[string]any{"name": "B", "kind": "level"})
		var wg sync.WaitGroup
		status := make([]int, 2)
		for i, m := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Go(func() {
				status[i] = e.Do("PATCH", "/v1/organization/units/"+m[0], tok, map[string]any{"parent": m[1]}).Status
			})
		}
		wg.Wait()
		parents := map[string]string{}
		for _, u := range listUnits(t, e, tok, "").Items {
			parents[u.ID] = u.Parent
		}
		if parents[a.ID] == b.ID && parents[b.ID] == a.ID {
			t.Fatalf("round %d: a cycle was stored (statuses %v)", round, status)
		}
		if !slices.Contains(status, 200) {
			t.Fatalf("round %d: neither move succeeded: %v", round, status)
		}
	}
}

func TestAUnitInUseCannotBeDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	u := createUnit(t, e, tok, map[string]any{"name": "Paris", "kind": "site"})
	addUser(t, e, "worker@acme.example", permission.RoleMember, u.ID)

	t.Run("its user count shows the assignment", func(t *testing.T) {
		if p := listUnits(t, e, tok, ""); len(p.Items) != 1 || p.Items[0].UserCount != 1 {
			t.Fatalf("page %+v", p)
		}
	})
	t.Run("deleting it is 409 unit_in_use and writes nothing", func(t *testing.T) {
		if p := refused(t, e, "DELETE", "/v1/organization/units/"+u.ID, tok, nil, 409); p.Code != "unit_in_use" {
			t.Fatalf("code %q", p.Code)
		}
	})
	t.Run("a PATCH keeps the count of its users", func(t *testing.T) {
		var got organization.Unit
		e.Do("PATCH", "/v1/organization/units/"+u.ID, tok, map[string]any{"name": "Paris 2"}).Decode(t, &got)
		if got.UserCount != 1 {
			t.Fatalf("unit %+v", got)
		}
		if p := e.Do("DELETE", "/v1/organization/units/"+u.ID, tok, nil).Problem(t, 409); p.Code != "unit_in_use" {
			t.Fatalf("code %q", p.Code)
		}
	})
}

func TestABadUnitIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	existing := createUnit(t, e, tok, map[string]any{"name": "HQ", "kind": "company"})
	addr := map[string]any{"line1": "1 Main St", "postal_code": "1000", "city": "Brussels", "country": "be"}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		fields             []string
	}{
		{"a unit without name and kind", "POST", "", map[string]any{}, 422, []string{"name", "kind"}},
		{"a unit of an unknown kind", "POST", "", map[string]any{"name": "X", "kind": "region"}, 422, []string{"kind"}},
		{"a name over 200 characters", "POST", "", map[string]any{"name": string(make([]byte, 201)), "kind": "site"}, 422, []string{"name"}},
		{"a latitude without longitude", "POST", "", map[string]any{"name": "X", "kind": "site", "latitude": 1}, 422, []string{"longitude"}},
		{"a longitude without latitude", "POST", "", map[string]any{"name": "X", "kind": "site", "longitude": 1}, 422, []string{"latitude"}},
		{"coordinates out of range", "POST", "", map[string]any{"name": "X", "kind": "site", "latitude": 91, "longitude": -181}, 422, []string{"latitude", "longitude"}},
		{"a bad address", "POST", "", map[string]any{"name": "X", "kind": "site", "address": addr}, 422, []string{"address.country"}},
		{"a user count, which is read-only", "POST", "", map[string]any{"name": "X", "kind": "site", "user_count": 3}, 400, nil},
		{"coordinates given as strings", "POST", "", map[string]any{"name": "X", "kind": "site", "latitude": "1", "longitude": "2"}, 400, nil},
		{"a PATCH giving only a latitude to a unit without coordinates", "PATCH", "/" + existing.ID, map[string]any{"latitude": 10}, 422, []string{"longitude"}},
		{"a PATCH with an empty name", "PATCH", "/" + existing.ID, map[string]any{"name": ""}, 422, []string{"name"}},
		{"a PATCH with an unknown kind", "PATCH", "/" + existing.ID, map[string]any{"kind": "x"}, 422, []string{"kind"}},
		{"a PATCH with an unknown field", "PATCH", "/" + existing.ID, map[string]any{"id": "unt_x"}, 400, nil},
		{"a PATCH of a unit that does not exist", "PATCH", "/unt_aaaaaaaaaaaaaaaa", map[string]any{"name": "x"}, 404, nil},
		{"a PATCH of something that is not a unit id", "PATCH", "/USER%23x", map[string]any{"name": "x"}, 404, nil},
		{"a DELETE of a unit that does not exist", "DELETE", "/unt_aaaaaaaaaaaaaaaa", nil, 404, nil},
		{"a list with a limit of 0", "GET", "?limit=0", nil, 422, []string{"limit"}},
		{"a list with a limit that is not a number", "GET", "?limit=ten", nil, 422, []string{"limit"}},
		{"a list with a forged cursor", "GET", "?cursor=abc", nil, 400, nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s is %d", c.name, c.status), func(t *testing.T) {
			p := refused(t, e, c.method, "/v1/organization/units"+c.path, tok, c.body, c.status)
			if !slices.Equal(fieldsOf(p), c.fields) {
				t.Fatalf("field errors %+v, want %v", p.Errors, c.fields)
			}
		})
	}
}

func TestAnotherOrganizationsUnitsAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	mine := createUnit(t, e, tok, map[string]any{"name": "Acme site", "kind": "site"})
	if _, _, err := e.Seed(t.Context(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
		t.Fatal(err)
	}
	boss := e.Login(t, "boss@other.example", "other-password-123").AccessToken
	before := e.Scan(t)
	t.Run("the other organization's owner lists none of them", func(t *testing.T) {
		if p := listUnits(t, e, boss, ""); len(p.Items) != 0 {
			t.Fatalf("page %+v", p)
		}
	})
	t.Run("changing one is 404", func(t *testing.T) {
		e.Do("PATCH", "/v1/organization/units/"+mine.ID, boss, map[string]any{"name": "mine now"}).Problem(t, 404)
		e.Do("PATCH", "/v1/organization/units/"+mine.ID, boss, map[string]any{"parent": ""}).Problem(t, 404)
	})
	t.Run("deleting one is 404", func(t *testing.T) {
		e.Do("DELETE", "/v1/organization/units/"+mine.ID, boss, nil).Problem(t, 404)
	})
	t.Run("using one as parent is 422, as for a unit that does not exist", func(t *testing.T) {
		p := e.Do("POST", "/v1/organization/units", boss, map[string]any{"name": "X", "kind": "site", "parent": mine.ID}).Problem(t, 422)
		if len(p.Errors) != 1 || p.Errors[0].Field != "parent" {
			t.Fatalf("field errors %+v", p.Errors)
		}
	})
	t.Run("a cursor of one organization is refused by the other", func(t *testing.T) {
		createUnit(t, e, tok, map[string]any{"name": "Acme site 2", "kind": "site"})
		p := listUnits(t, e, tok, "?limit=1")
		if p.NextCursor == "" {
			t.Fatalf("no next cursor: %+v", p)
		}
		if pr := e.Do("GET", "/v1/organization/units?cursor="+p.NextCursor, boss, nil).Problem(t, 400); pr.Code != "invalid_cursor" {
			t.Fatalf("code %q", pr.Code)
		}
		if pr := e.Do("GET", "/v1/audit?cursor="+p.NextCursor, tok, nil).Problem(t, 400); pr.Code != "invalid_cursor" {
			t.Fatalf("a units cursor was accepted by the audit list: %q", pr.Code)
		}
		before = e.Scan(t)
	})
	unchanged(t, e, before)
}

func TestTheUnitsListPaginates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	want := map[string]bool{}
	for i := range 7 {
		want[createUnit(t, e, tok, map[string]any{"name": fmt.Sprint("U", i), "kind": "site"}).ID] = true
	}
	got := map[string]bool{}
	next := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		q := "?limit=3"
		if next != "" {
			q += "&cursor=" + next
		}
		p := listUnits(t, e, tok, q)
		if len(p.Items) > 3 {
			t.Fatalf("%d items on a page of 3", len(p.Items))
		}
		for _, u := range p.Items {
			if got[u.ID] {
				t.Fatalf("unit %s listed twice", u.ID)
			}
			got[u.ID] = true
		}
		if next = p.NextCursor; next == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d units of %d", len(got), len(want))
	}
}

// getUnit reads unit id through the list (there is no GET of one unit).
func getUnit(t testing.TB, e *apitest.Env, tok, id string) (organization.Unit, bool) {
	t.Helper()
	for _, u := range listUnits(t, e, tok, "?limit=100").Items {
		if u.ID == id {
			return u, true
		}
	}
	return organization.Unit{}, false
}

func TestAUnitMovedToTheTopLevelAndMovedAgainLeavesItsParentsTheirRealChildren(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.LoginOwner(t).AccessToken
	a := createUnit(t, e, tok, map[string]any{"name": "A", "kind": "company"})
	b := createUnit(t, e, tok, map[string]any{"name": "B", "kind": "company"})
	c := createUnit(t, e, tok, map[string]any{"name": "C", "kind": "site", "parent": a.ID})

	t.Run("moved to the top level, the unit has no parent, as read again", func(t *testing.T) {
		if r, got := patchUnit(t, e, tok, c.ID, map[string]any{"parent": ""}); r.Status != 200 || got.Parent != "" {
			t.Fatalf("status %d, unit %+v: %s", r.Status, got, r.Body)
		}
		if got, ok := getUnit(t, e, tok, c.ID); !ok || got.Parent != "" {
			t.Fatalf("stored unit %+v (found %v)", got, ok)
		}
	})
	t.Run("moved again under another parent, it is under that one", func(t *testing.T) {
		if r, got := patchUnit(t, e, tok, c.ID, map[string]any{"parent": b.ID}); r.Status != 200 || got.Parent != b.ID {
			t.Fatalf("status %d, unit %+v: %s", r.Status, got, r.Body)
		}
		if got, ok := getUnit(t, e, tok, c.ID); !ok || got.Parent != b.ID {
			t.Fatalf("stored unit %+v (found %v)", got, ok)
		}
	})
	t.Run("its new parent cannot be deleted: 409 unit_has_children", func(t *testing.T) {
		if p := refused(t, e, "DELETE", "/v1/organization/units/"+b.ID, tok, nil, 409); p.Code != "unit_has_children" {
			t.Fatalf("code %q", p.Code)
		}
	})
	t.Run("its first parent has no child left and can be deleted", func(t *testing.T) {
		if r := e.Do("DELETE", "/v1/organization/units/"+a.ID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	})
	t.Run("moved to the top level once more, it leaves its parent deletable", func(t *testing.T) {
		if r, _ := patchUnit(t, e, tok, c.ID, map[string]any{"parent": ""}); r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := e.Do("DELETE", "/v1/organization/units/"+b.ID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if got, ok := getUnit(t, e, tok, c.ID); !ok || got.Parent != "" {
			t.Fatalf("stored unit %+v (found %v)", got, ok)
		}
		// And it can be deleted itself: nothing counts it anywhere.
		if r := e.Do("DELETE", "/v1/organization/units/"+c.ID, tok, nil); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	})
}
