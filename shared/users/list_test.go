package users_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// seedMix writes n users through store.CreateUsers (so their filter
// entries are written as an import writes them): statuses, kinds, roles
// (in turn), units (u1, u2, both, none, all_units; none at all without
// u1) and last names
// ("Needle" every seventh) in a mix.
func seedMix(t testing.TB, e *apitest.Env, n int, roles []string, u1, u2 string) {
	t.Helper()
	now := e.Clock.Now()
	var batch []store.NewUser
	for i := range n {
		u := store.User{Org: e.Org.Org.ID, OrgCode: e.Org.Org.Code, ID: store.NewID("usr_"),
			FirstName: "Seed", LastName: fmt.Sprint(i), Language: "en", Created: now, Updated: now}
		switch i % 5 {
		case 0:
			u.Status = store.Inactive
		case 1:
			u.Status = store.UserPending
		default:
			u.Status = store.Active
		}
		if i%4 == 0 {
			u.Kind, u.Code, u.Client = store.Service, fmt.Sprintf("SVC%05d", i), "internal"
		} else {
			u.Kind, u.Email = store.Person, fmt.Sprintf("mix%05d@example.com", i)
		}
		u.Role = roles[i%len(roles)]
		switch {
		case u1 == "":
		case i%6 == 0:
			u.AllUnits = true
		case i%6 == 1, i%6 == 2:
			u.Units = []string{u1}
		case i%6 == 3:
			u.Units = []string{u1, u2}
		case i%6 == 4:
			u.Units = []string{u2}
		}
		if i%7 == 0 {
			u.LastName = "Needle"
		}
		batch = append(batch, store.NewUser{User: u})
	}
	for _, g := range store.GroupUsers(batch) {
		if err := e.Store.CreateUsers(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	}
}

// allUsers reads every user of the organization from the store.
func allUsers(t testing.TB, e *apitest.Env) []store.User {
	t.Helper()
	var out []store.User
	if err := e.Store.EachUser(context.Background(), e.Org.Org.ID, func(us []store.User) error {
		out = append(out, us...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryFilterPagesPastItsFirstPage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u1, u2 := unit(t, e, owner, "North"), unit(t, e, owner, "South")
	var role users.Role
	e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Crew", "permissions": []string{"users:read"}}).Decode(t, &role)
	seedMix(t, e, 330, []string{role.ID, "admin", "member"}, u1, u2)
	everyone := allUsers(t, e)
	if len(everyone) != 331 {
		t.Fatalf("%d users", len(everyone))
	}

	type want func(store.User) bool
	inUnit := func(id string) want {
		return func(u store.User) bool { return u.AllUnits || slices.Contains(u.Units, id) }
	}
	cases := []struct {
		name  string
		query url.Values
		match want
		// calls is the users function's DynamoDB calls a page makes
		// exactly; 0 when it depends on the page (checked against most).
		calls, most int
	}{
		{"status", url.Values{"status": {"inactive"}}, func(u store.User) bool { return u.Status == store.Inactive }, 2, 2},
		{"a custom role", url.Values{"role": {role.ID}}, func(u store.User) bool { return u.Role == role.ID }, 2, 2},
		{"a built-in role", url.Values{"role": {"admin"}}, func(u store.User) bool { return u.Role == "admin" }, 2, 2},
		{"a unit, with the all_units users", url.Values{"unit": {u1}}, inUnit(u1), 5, 5},
		{"kind", url.Values{"kind": {"service"}}, func(u store.User) bool { return u.Kind == store.Service }, 2, 2},
		{"q", url.Values{"q": {"needle"}}, func(u store.User) bool { return u.LastName == "Needle" }, 0, 2},
		{"status and role", url.Values{"status": {"active"}, "role": {"member"}},
			func(u store.User) bool { return u.Status == store.Active && u.Role == "member" }, 0, 4},
		{"unit and kind", url.Values{"unit": {u2}, "kind": {"person"}},
			func(u store.User) bool { return inUnit(u2)(u) && u.Kind == store.Person }, 0, 9},
		{"status and q", url.Values{"status": {"active"}, "q": {"needle"}},
			func(u store.User) bool { return u.Status == store.Active && u.LastName == "Needle" }, 0, 8},
	}
	for _, c := range cases {
		for _, limit := range []int{20} {
			t.Run(fmt.Sprintf("by %s, %d a page, every match comes once, in order, limit a page", c.name, limit), func(t *testing.T) {
				var expect []string
				for _, u := range everyone {
					if c.match(u) {
						expect = append(expect, u.ID)
					}
				}
				slices.Sort(expect)
				if len(expect) <= limit {
					t.Fatalf("only %d matches: the seed does not reach page 2", len(expect))
				}
				var got []string
				cur, pages := "", 0
				for {
					q := url.Values{}
					for k, v := range c.query {
						q[k] = v
					}
					q.Set("limit", fmt.Sprint(limit))
					if cur != "" {
						q.Set("cursor", cur)
					}
					e.ResetCounters()
					var page users.Page
					r := e.Do("GET", "/v1/users?"+q.Encode(), owner, nil)
					if r.Status != 200 {
						t.Fatalf("page %d: %d %s", pages+1, r.Status, r.Body)
					}
					r.Decode(t, &page)
					pages++
					calls := e.Counters[route.Users].Calls()
					if c.calls != 0 && calls != c.calls || calls > c.most {
						t.Fatalf("page %d: %d calls %v, want %d (at most %d)", pages, calls, e.Counters[route.Users].Operations(), c.calls, c.most)
					}
					if page.Partial {
						t.Fatalf("page %d is partial at %d users", pages, len(everyone))
					}
					for _, u := range page.Items {
						got = append(got, u.ID)
					}
					if page.NextCursor == "" {
						break
					}
					if len(page.Items) != limit {
						t.Fatalf("page %d holds %d users, not %d, and is not the last", pages, len(page.Items), limit)
					}
					cur = page.NextCursor
				}
				if !slices.Equal(got, expect) {
					t.Fatalf("%d users over %d pages, want %d:\n got %v\nwant %v", len(got), pages, len(expect), got, expect)
				}
				if pages < len(expect)/limit {
					t.Fatalf("%d pages for %d matches", pages, len(expect))
				}
			})
		}
	}

	t.Run("a change moves a user from one filter's pages to another's at once", func(t *testing.T) {
		var moved store.User
		for _, u := range everyone {
			if u.Role == "member" && u.Status == store.Active && len(u.Units) == 1 && u.Units[0] == u1 && u.Kind == store.Person {
				moved = u
				break
			}
		}
		r := e.Do("PATCH", "/v1/users/"+moved.ID, owner, map[string]any{"role": role.ID, "units": []string{u2}})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		listed := func(query string) bool {
			cur := ""
			for {
				var page users.Page
				e.Do("GET", "/v1/users?limit=100&"+query+"&cursor="+cur, owner, nil).Decode(t, &page)
				for _, u := range page.Items {
					if u.ID == moved.ID {
						return true
					}
				}
				if cur = page.NextCursor; cur == "" {
					return false
				}
			}
		}
		for q, in := range map[string]bool{"role=member": false, "role=" + role.ID: true, "unit=" + u1: false, "unit=" + u2: true, "status=active": true} {
			if listed(q) != in {
				t.Errorf("listed by %s: %v", q, !in)
			}
		}
		if r := e.Do("DELETE", "/v1/users/"+moved.ID, owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		for _, item := range e.Scan(t) {
			if strings.Contains(item, "#USERS#") && strings.Contains(item, moved.ID) {
				t.Errorf("a deleted user's entry stays: %s", item)
			}
		}
	})
	t.Run("a cursor of one filter's list is no cursor of another organization's", func(t *testing.T) {
		var page users.Page
		e.Do("GET", "/v1/users?limit=5&role=admin", owner, nil).Decode(t, &page)
		other := apitest.New(t)
		tok := other.LoginOwner(t).AccessToken
		r := other.Do("GET", "/v1/users?limit=5&role=admin&cursor="+page.NextCursor, tok, nil)
		if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_cursor") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestATextSearchStopsAtItsReadBudgetAndSaysSo(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	seedMix(t, e, store.MaxUsersRead+60, []string{"member"}, "", "")
	// Needle is every seventh user: "nobody" matches none.
	var page users.Page
	e.ResetCounters()
	r := e.Do("GET", "/v1/users?limit=10&q=nobody", owner, nil)
	r.Decode(t, &page)
	if r.Status != 200 || !page.Partial || len(page.Items) != 0 || page.NextCursor == "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	// 1,000 users in Queries of 250, no filter expression.
	if calls := e.Counters[route.Users].Calls(); calls != 4 {
		t.Fatalf("%d calls %v", calls, e.Counters[route.Users].Operations())
	}
	var rest users.Page
	r = e.Do("GET", "/v1/users?limit=10&q=nobody&cursor="+page.NextCursor, owner, nil)
	r.Decode(t, &rest)
	if r.Status != 200 || rest.Partial || len(rest.Items) != 0 || rest.NextCursor != "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	t.Run("several filters stop at the budget too, in rounds of 100 entries", func(t *testing.T) {
		// Every seeded user is a member: role drives (before kind), and
		// q matches none of its 1,060 entries.
		var p users.Page
		e.ResetCounters()
		r := e.Do("GET", "/v1/users?limit=10&role=member&kind=service&q=nobody", owner, nil)
		r.Decode(t, &p)
		if r.Status != 200 || !p.Partial || len(p.Items) != 0 || p.NextCursor == "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if calls := e.Counters[route.Users].Calls(); calls != 20 {
			t.Fatalf("%d calls %v", calls, e.Counters[route.Users].Operations())
		}
		e.ResetCounters()
		var last users.Page
		r = e.Do("GET", "/v1/users?limit=10&role=member&kind=service&q=nobody&cursor="+p.NextCursor, owner, nil)
		r.Decode(t, &last)
		if r.Status != 200 || last.Partial || len(last.Items) != 0 || last.NextCursor != "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if calls := e.Counters[route.Users].Calls(); calls != 2 {
			t.Fatalf("%d calls %v", calls, e.Counters[route.Users].Operations())
		}
	})
}

func TestBuiltInRolesShowHowManyUsersHoldThem(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	for i, role := range []string{"admin", "admin", "member"} {
		if r := e.Do("POST", "/v1/users", owner, person(fmt.Sprintf("holder%d@example.com", i), role)); r.Status != 201 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	counts := func(e *apitest.Env, tok string) map[string]int {
		var list users.RoleList
		if r := e.Do("GET", "/v1/roles", tok, nil); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		} else {
			r.Decode(t, &list)
		}
		out := map[string]int{}
		for _, r := range list.Items {
			if r.BuiltIn {
				out[r.ID] = r.UserCount
			}
		}
		return out
	}
	if got := fmt.Sprint(counts(e, owner)); got != "map[admin:2 member:1 owner:1]" {
		t.Fatalf("counts %s", got)
	}
	other := apitest.New(t)
	if got := fmt.Sprint(counts(other, other.LoginOwner(t).AccessToken)); got != "map[admin:0 member:0 owner:1]" {
		t.Fatalf("another organization's counts %s", got)
	}
}
