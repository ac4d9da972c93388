package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// unitTree is a tree of units made through the API:
//
//	companyA (company) > estA (establishment) > siteA (site)
//	companyB (company) > estB (establishment)
//	level (level)
type unitTree struct {
	companyA, estA, siteA, companyB, estB, level string
}

func makeUnits(t *testing.T, e *apitest.Env, owner string) unitTree {
	t.Helper()
	unit := func(name, kind, parent string) string {
		body := map[string]any{"name": name, "kind": kind}
		if parent != "" {
			body["parent"] = parent
		}
		return created(t, e, owner, "/v1/organization/units", body)["id"].(string)
	}
	var u unitTree
	u.companyA = unit("Company A", "company", "")
	u.estA = unit("Hotel A", "establishment", u.companyA)
	u.siteA = unit("Annex A", "site", u.estA)
	u.companyB = unit("Company B", "company", "")
	u.estB = unit("Hotel B", "establishment", u.companyB)
	u.level = unit("Management", "level", "")
	return u
}

// person creates an active username person with units through the API
// and returns its id.
func person(t *testing.T, e *apitest.Env, tok, username string, units map[string]any) string {
	t.Helper()
	body := map[string]any{"username": username, "password": "481937", "first_name": "P", "last_name": username, "role": "member"}
	for k, v := range units {
		body[k] = v
	}
	return created(t, e, tok, "/v1/users", body)["id"].(string)
}

// limitedAdmin adds a person holding a role limited to its units with
// users:read, users:write, invitations:write and roles:write, gives it
// units through the owner, and returns its id and access token.
func limitedAdmin(t *testing.T, e *apitest.Env, owner, email string, units map[string]any) (string, string) {
	t.Helper()
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Manager " + email, "own_units": true,
		"permissions": []string{"users:read", "users:write", "invitations:write", "roles:write"}})
	if role["own_units"] != true {
		t.Fatalf("role without own_units: %v", role)
	}
	u := e.AddUser(t, email, role["id"].(string))
	body := map[string]any{"all_units": false}
	for k, v := range units {
		body[k] = v
	}
	e.Do("PATCH", "/v1/users/"+u.ID, owner, body).Object(t, http.StatusOK)
	return u.ID, e.Login(t, email, apitest.UserPassword).AccessToken
}

func ids(t *testing.T, r *apitest.Response) []string {
	t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r.Decode(t, &page)
	var out []string
	for _, x := range page.Items {
		out = append(out, x.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(xs ...string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// TestUnitKinds gives users and invitations every unit of a kind: the
// kinds are validated, shown, and matched by the unit filter.
func TestUnitKinds(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)

	v := created(t, e, owner, "/v1/users", map[string]any{"kind": "service", "user_code": "PAYROLL1", "client": "internal",
		"role": "member", "unit_kinds": []string{"company", "level"}, "default_unit": u.companyB})
	if got := v["unit_kinds"]; len(got.([]any)) != 2 || v["all_units"] != false || v["default_unit"] != u.companyB {
		t.Fatalf("created: %v", v)
	}
	svc := v["id"].(string)
	got := e.Do("GET", "/v1/users/"+svc, owner, nil).Object(t, http.StatusOK)
	if kinds := got["unit_kinds"].([]any); len(kinds) != 2 || kinds[0] != "company" || kinds[1] != "level" {
		t.Fatalf("read: %v", got)
	}
	direct := person(t, e, owner, "direct", map[string]any{"units": []string{u.companyA}})
	all := person(t, e, owner, "everywhere", map[string]any{"all_units": true})
	other := person(t, e, owner, "elsewhere", map[string]any{"units": []string{u.estA}})

	before := e.Scan(t)
	for name, body := range map[string]map[string]any{
		"unknown kind":               {"unit_kinds": []string{"planet"}},
		"twice the same kind":        {"unit_kinds": []string{"site", "site"}},
		"kinds with all units":       {"unit_kinds": []string{"site"}, "all_units": true},
		"default unit of no kind":    {"unit_kinds": []string{"company"}, "default_unit": u.estA},
		"default unit of no unit":    {"unit_kinds": []string{"company"}, "default_unit": "unt_aaaaaaaaaaaaaaaa"},
		"default unit not a unit id": {"unit_kinds": []string{"company"}, "default_unit": "HQ"},
	} {
		t.Run(name, func(t *testing.T) {
			b := map[string]any{"username": "refused", "password": "481937", "first_name": "R", "last_name": "R", "role": "member"}
			for k, v := range body {
				b[k] = v
			}
			if p := e.Do("POST", "/v1/users", owner, b).Problem(t, http.StatusUnprocessableEntity); p.Code != "validation_failed" {
				t.Fatal(p.Code)
			}
			if p := e.Do("PATCH", "/v1/users/"+direct, owner, body).Problem(t, http.StatusUnprocessableEntity); p.Code != "validation_failed" {
				t.Fatal(p.Code)
			}
			inv := map[string]any{"email": "refused@example.com", "role": "member"}
			if _, ok := body["default_unit"]; !ok {
				for k, v := range body {
					inv[k] = v
				}
				e.Do("POST", "/v1/invitations", owner, inv).Problem(t, http.StatusUnprocessableEntity)
			}
		})
	}
	if after := e.Scan(t); !slices.Equal(before, after) {
		t.Fatal("a refused request wrote")
	}

	// The unit filter matches a unit's own users, those with all units
	// and those with its kind; not those of a parent.
	if got, want := ids(t, e.Do("GET", "/v1/users?unit="+u.companyA, owner, nil)), sorted(direct, all, svc, e.Org.Owner.ID); !slices.Equal(got, want) && !slices.Equal(got, sorted(direct, all, svc)) {
		t.Fatalf("unit=companyA: %v, want %v", got, want)
	}
	if got := ids(t, e.Do("GET", "/v1/users?unit="+u.estA, owner, nil)); slices.Contains(got, svc) || !slices.Contains(got, other) {
		t.Fatalf("unit=estA: %v", got)
	}
	if got := ids(t, e.Do("GET", "/v1/users?unit="+u.level+"&kind=service", owner, nil)); !slices.Equal(got, []string{svc}) {
		t.Fatalf("unit=level&kind=service: %v", got)
	}
	// Dropping the kinds drops the match.
	e.Do("PATCH", "/v1/users/"+svc, owner, map[string]any{"unit_kinds": []string{"level"}, "default_unit": u.level}).Object(t, http.StatusOK)
	if got := ids(t, e.Do("GET", "/v1/users?unit="+u.companyA, owner, nil)); slices.Contains(got, svc) {
		t.Fatalf("unit=companyA after the change: %v", got)
	}

	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "kinds@example.com", "role": "member", "unit_kinds": []string{"establishment"}})
	if kinds := inv["unit_kinds"].([]any); len(kinds) != 1 || kinds[0] != "establishment" {
		t.Fatalf("invitation: %v", inv)
	}
	var accepted struct {
		AccessToken string `json:"access_token"`
	}
	r := e.Do("POST", "/v1/invitations/accept", "", map[string]any{"token": apitest.LinkToken(t, inv["link"].(string)),
		"first_name": "K", "last_name": "K", "password": "kinds-password-1234"})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &accepted)
	if got := ids(t, e.Do("GET", "/v1/users?unit="+u.estB+"&q=kinds", owner, nil)); len(got) != 1 {
		t.Fatalf("the accepted invitation's user lacks its kind: %v", got)
	}
}

// TestUnitLimitedRole runs a hotel manager, whose role acts only within
// its units, against users inside and outside them: reads of users
// outside are 404, and so are changes; units beyond its own are refused
// with 403 outside_units, and roles administering beyond them with 403
// unit_limited_role.
func TestUnitLimitedRole(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)
	mgrID, mgr := limitedAdmin(t, e, owner, "manager@acme.example", map[string]any{"units": []string{u.estA}})

	inHotel := person(t, e, owner, "inhotel", map[string]any{"units": []string{u.estA}})
	inAnnex := person(t, e, owner, "inannex", map[string]any{"units": []string{u.siteA}}) // a child unit counts
	inBoth := person(t, e, owner, "inboth", map[string]any{"units": []string{u.estA, u.siteA}, "default_unit": u.siteA})
	outside := person(t, e, owner, "outside", map[string]any{"units": []string{u.estB}})
	mixed := person(t, e, owner, "mixed", map[string]any{"units": []string{u.estA, u.estB}})
	parent := person(t, e, owner, "parent", map[string]any{"units": []string{u.companyA}})
	all := person(t, e, owner, "all", map[string]any{"all_units": true})
	kind := person(t, e, owner, "kind", map[string]any{"unit_kinds": []string{"site"}})
	none := person(t, e, owner, "nounit", nil)

	// In the hotel, but administering beyond it: seen, not changed.
	wide := created(t, e, owner, "/v1/roles", map[string]any{"name": "Wide", "permissions": []string{"users:read"}})["id"].(string)
	above := e.AddUser(t, "above@acme.example", wide).ID
	e.Do("PATCH", "/v1/users/"+above, owner, map[string]any{"all_units": false, "units": []string{u.estA}}).Object(t, http.StatusOK)
	e.Do("GET", "/v1/users/"+above, mgr, nil).Object(t, http.StatusOK)
	for _, r := range []*apitest.Response{
		e.Do("PATCH", "/v1/users/"+above, mgr, map[string]any{"first_name": "X"}),
		e.Do("POST", "/v1/users/"+above+"/status", mgr, map[string]any{"status": "inactive"}),
		e.Do("POST", "/v1/users/"+above+"/password-reset", mgr, map[string]any{"send_email": false}),
		e.Do("DELETE", "/v1/users/"+above, mgr, nil),
	} {
		if p := r.Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" {
			t.Fatal(p.Code)
		}
	}

	inside := sorted(mgrID, inHotel, inAnnex, inBoth, above)
	if got := ids(t, e.Do("GET", "/v1/users?limit=100", mgr, nil)); !slices.Equal(got, inside) {
		t.Fatalf("list: %v, want %v", got, inside)
	}
	if got := ids(t, e.Do("GET", "/v1/users?unit="+u.estB, mgr, nil)); len(got) != 0 {
		t.Fatalf("list of another hotel: %v", got)
	}
	if got := ids(t, e.Do("GET", "/v1/users?limit=1", mgr, nil)); len(got) != 1 {
		t.Fatalf("a page of one: %v", got)
	}
	for _, id := range []string{outside, mixed, parent, all, kind, none, e.Org.Owner.ID} {
		e.Do("GET", "/v1/users/"+id, mgr, nil).Problem(t, http.StatusNotFound)
		e.Do("PATCH", "/v1/users/"+id, mgr, map[string]any{"first_name": "X"}).Problem(t, http.StatusNotFound)
		e.Do("POST", "/v1/users/"+id+"/status", mgr, map[string]any{"status": "inactive"}).Problem(t, http.StatusNotFound)
		e.Do("DELETE", "/v1/users/"+id, mgr, nil).Problem(t, http.StatusNotFound)
	}
	for _, id := range inside {
		e.Do("GET", "/v1/users/"+id, mgr, nil).Object(t, http.StatusOK)
	}
	export := e.Do("GET", "/v1/users/export?format=jsonl", mgr, nil)
	if export.Status != http.StatusOK {
		t.Fatalf("export: %d %s", export.Status, export.Body)
	}
	var exported []string
	for _, line := range strings.Split(strings.TrimSpace(string(export.Body)), "\n") {
		var row struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		exported = append(exported, row.ID)
	}
	if slices.Sort(exported); !slices.Equal(exported, inside) {
		t.Fatalf("export: %v, want %v", exported, inside)
	}
	e.Do("PATCH", "/v1/users/"+inAnnex, mgr, map[string]any{"first_name": "Annie"}).Object(t, http.StatusOK)
	e.Do("POST", "/v1/users/"+inAnnex+"/status", mgr, map[string]any{"status": "inactive"}).Object(t, http.StatusOK)
	e.Do("POST", "/v1/users/"+inAnnex+"/status", mgr, map[string]any{"status": "active"}).Object(t, http.StatusOK)
	// Moving a user within the manager's units is fine; beyond, refused.
	e.Do("PATCH", "/v1/users/"+inAnnex, mgr, map[string]any{"units": []string{u.estA}}).Object(t, http.StatusOK)

	before := e.Scan(t)
	for name, body := range map[string]map[string]any{
		"another hotel":     {"units": []string{u.estB}},
		"a parent":          {"units": []string{u.companyA}},
		"one of two beyond": {"units": []string{u.siteA, u.estB}},
		"all units":         {"all_units": true},
		"a kind":            {"unit_kinds": []string{"site"}},
		"no unit":           {"units": []string{}},
	} {
		t.Run("gives "+name, func(t *testing.T) {
			if p := e.Do("PATCH", "/v1/users/"+inHotel, mgr, body).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
				t.Fatal(p.Code)
			}
			b := map[string]any{"username": "newbie", "password": "481937", "first_name": "N", "last_name": "N", "role": "member"}
			for k, v := range body {
				b[k] = v
			}
			if p := e.Do("POST", "/v1/users", mgr, b).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
				t.Fatal(p.Code)
			}
			inv := map[string]any{"email": "newbie@example.com", "role": "member"}
			for k, v := range body {
				inv[k] = v
			}
			if p := e.Do("POST", "/v1/invitations", mgr, inv).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
				t.Fatal(p.Code)
			}
		})
	}
	// Nor to itself.
	if p := e.Do("PATCH", "/v1/users/"+mgrID, mgr, map[string]any{"all_units": true}).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
		t.Fatal(p.Code)
	}
	if p := e.Do("PATCH", "/v1/users/"+mgrID, mgr, map[string]any{"units": []string{u.estA, u.estB}}).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
		t.Fatal(p.Code)
	}
	// A role administering beyond its holder's units is not given, made
	// or unmade by the manager.
	if p := e.Do("PATCH", "/v1/users/"+inHotel, mgr, map[string]any{"role": "admin"}).Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" && p.Code != "permission_escalation" {
		t.Fatal(p.Code)
	}
	if p := e.Do("POST", "/v1/roles", mgr, map[string]any{"name": "Wide", "permissions": []string{"users:read"}}).Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" {
		t.Fatal(p.Code)
	}
	var mine string
	var roles struct {
		Items []struct {
			ID, Name string
			OwnUnits bool `json:"own_units"`
		}
	}
	e.Do("GET", "/v1/roles", mgr, nil).Decode(t, &roles)
	for _, r := range roles.Items {
		if r.Name == "Manager manager@acme.example" {
			mine = r.ID
		}
		if (r.ID == "owner" || r.ID == "admin" || r.ID == "member") && r.OwnUnits {
			t.Fatalf("built-in %s limited", r.ID)
		}
	}
	if p := e.Do("PATCH", "/v1/roles/"+mine, mgr, map[string]any{"own_units": false}).Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" {
		t.Fatal(p.Code)
	}
	if p := e.Do("POST", "/v1/users", mgr, map[string]any{"username": "deputy", "password": "481937", "first_name": "D", "last_name": "D",
		"role": "admin", "units": []string{u.estA}}).Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" && p.Code != "permission_escalation" {
		t.Fatal(p.Code)
	}
	if p := e.DoHeader("POST", "/v1/users/import", map[string]string{"Authorization": "Bearer " + mgr, "Content-Type": "text/csv"},
		"email,first_name,last_name,role,units\nx@example.com,X,X,member,"+u.estB+"\n").Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" {
		t.Fatal(p.Code)
	}
	if after := e.Scan(t); !slices.Equal(before, after) {
		t.Fatal("a refused request wrote")
	}

	// Within its units, it creates, invites, and gives its own limited role.
	newbie := person(t, e, mgr, "newbie", map[string]any{"units": []string{u.siteA}})
	e.Do("GET", "/v1/users/"+newbie, mgr, nil).Object(t, http.StatusOK)
	e.Do("PATCH", "/v1/users/"+newbie, mgr, map[string]any{"role": mine}).Object(t, http.StatusOK)
	invIn := created(t, e, mgr, "/v1/invitations", map[string]any{"email": "in@example.com", "role": "member", "units": []string{u.siteA}})
	invOut := created(t, e, owner, "/v1/invitations", map[string]any{"email": "out@example.com", "role": "member", "units": []string{u.estB}})
	if got := ids(t, e.Do("GET", "/v1/invitations", mgr, nil)); !slices.Equal(got, []string{invIn["id"].(string)}) {
		t.Fatalf("invitations: %v", got)
	}
	e.Do("POST", "/v1/invitations/"+invOut["id"].(string)+"/link", mgr, nil).Problem(t, http.StatusNotFound)
	e.Do("DELETE", "/v1/invitations/"+invOut["id"].(string), mgr, nil).Problem(t, http.StatusNotFound)
	e.Do("DELETE", "/v1/invitations/"+invIn["id"].(string), mgr, nil).Object(t, http.StatusNoContent)
	// An invitation into the hotel with a role administering beyond it:
	// no new link from the manager (whoever holds it would get the role).
	invWide := created(t, e, owner, "/v1/invitations", map[string]any{"email": "wide@example.com", "role": wide, "units": []string{u.estA}})
	for _, path := range []string{"/link", "/resend"} {
		if p := e.Do("POST", "/v1/invitations/"+invWide["id"].(string)+path, mgr, nil).Problem(t, http.StatusForbidden); p.Code != "unit_limited_role" {
			t.Fatal(p.Code)
		}
	}
	e.Do("DELETE", "/v1/users/"+inBoth, mgr, nil).Object(t, http.StatusNoContent)

	// The owner widens the manager's units: it reaches the other hotel at
	// once; a move of a unit under its units brings that unit's users.
	e.Do("GET", "/v1/users/"+outside, mgr, nil).Problem(t, http.StatusNotFound)
	e.Do("PATCH", "/v1/organization/units/"+u.estB, owner, map[string]any{"parent": u.estA}).Object(t, http.StatusOK)
	e.Do("GET", "/v1/users/"+outside, mgr, nil).Object(t, http.StatusOK)
	e.Do("GET", "/v1/users/"+mixed, mgr, nil).Object(t, http.StatusOK)
	// The role's limit lifted, the manager reaches everyone.
	e.Do("PATCH", "/v1/roles/"+mine, owner, map[string]any{"own_units": false}).Object(t, http.StatusOK)
	e.Do("GET", "/v1/users/"+all, mgr, nil).Object(t, http.StatusOK)
}

// TestUnitKindScope limits a payroll clerk to every company: it reaches
// users of companies, of the units below them (a kind reaches its units'
// descendants, as a listed unit does) and users with the company kind, not
// users of units outside the companies, nor with another kind.
func TestUnitKindScope(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)
	clerkID, clerk := limitedAdmin(t, e, owner, "clerk@acme.example", map[string]any{"unit_kinds": []string{"company"}})
	inA := person(t, e, owner, "ina", map[string]any{"units": []string{u.companyA}})
	inB := person(t, e, owner, "inb", map[string]any{"units": []string{u.companyB}})
	companies := person(t, e, owner, "companies", map[string]any{"unit_kinds": []string{"company"}})
	hotel := person(t, e, owner, "hotel", map[string]any{"units": []string{u.estA}})
	annex := person(t, e, owner, "annex", map[string]any{"units": []string{u.siteA, u.estB}})
	levelled := person(t, e, owner, "levelled", map[string]any{"units": []string{u.level}})
	levels := person(t, e, owner, "levels", map[string]any{"unit_kinds": []string{"company", "level"}})
	mixed := person(t, e, owner, "mixed", map[string]any{"units": []string{u.estA, u.level}})
	if got, want := ids(t, e.Do("GET", "/v1/users", clerk, nil)), sorted(clerkID, inA, inB, companies, hotel, annex); !slices.Equal(got, want) {
		t.Fatalf("list: %v, want %v", got, want)
	}
	for _, id := range []string{hotel, annex} {
		e.Do("GET", "/v1/users/"+id, clerk, nil).Object(t, http.StatusOK)
	}
	for _, id := range []string{levelled, levels, mixed} {
		e.Do("GET", "/v1/users/"+id, clerk, nil).Problem(t, http.StatusNotFound)
		e.Do("PATCH", "/v1/users/"+id, clerk, map[string]any{"first_name": "X"}).Problem(t, http.StatusNotFound)
	}
	person(t, e, clerk, "newcompany", map[string]any{"unit_kinds": []string{"company"}})
	person(t, e, clerk, "newhotel", map[string]any{"units": []string{u.estA, u.siteA}})
	for _, body := range []map[string]any{{"units": []string{u.level}}, {"units": []string{u.estB, u.level}}, {"unit_kinds": []string{"establishment"}}} {
		body["username"], body["password"], body["first_name"], body["last_name"], body["role"] = "newout", "481937", "N", "N", "member"
		if p := e.Do("POST", "/v1/users", clerk, body).Problem(t, http.StatusForbidden); p.Code != "outside_units" {
			t.Fatal(p.Code)
		}
	}
	// GET /v1/me shows the clerk's reach: the companies and what lies below them.
	var me struct {
		Principal struct {
			Units struct {
				Expanded []string `json:"expanded"`
			} `json:"units"`
		} `json:"principal"`
	}
	e.Do("GET", "/v1/me", clerk, nil).Decode(t, &me)
	if got, want := sorted(me.Principal.Units.Expanded...), sorted(u.companyA, u.estA, u.siteA, u.companyB, u.estB); !slices.Equal(got, want) {
		t.Fatalf("expanded %v, want %v", got, want)
	}
}
