package users_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/users"
)

// seedUsers writes n persons straight into the table (no password: the
// benchmark is about listing, not hashing).
func seedUsers(t testing.TB, e *apitest.Env, n int) {
	t.Helper()
	now := e.Clock.Now()
	for i := range n {
		u := store.User{Org: e.Org.Org.ID, OrgCode: "acme", ID: store.NewID("usr_"), Kind: store.Person,
			Email: fmt.Sprintf("seed%04d@example.com", i), FirstName: "Seed", LastName: fmt.Sprint(i),
			Language: "en", Role: "member", Status: store.Active, AllUnits: true, Created: now, Updated: now}
		a := store.Audit{Org: u.Org, Time: now, Actor: "seed", Via: "test", Action: "user.create", Target: "user:" + u.ID}
		if err := e.Store.CreateUser(context.Background(), u, a); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDynamoDBCallsOfUserOperations(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	seedUsers(t, e, 120)
	cases := []struct {
		name   string
		do     func() *apitest.Response
		status int
		want   map[string]int // calls of the users function by operation
	}{
		{"creating a user is one read of the organization with the creator (who signs the welcome mail) and one transaction", func() *apitest.Response {
			return e.Do("POST", "/v1/users", owner, person("budget@example.com", "member"))
		}, 201, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"a page of the list is one Query", func() *apitest.Response {
			return e.Do("GET", "/v1/users?limit=50", owner, nil)
		}, 200, map[string]int{"Query": 1}},
		{"a page filtered by status is one Query of its entries and one BatchGetItem of its users", func() *apitest.Response {
			return e.Do("GET", "/v1/users?limit=50&status=active", owner, nil)
		}, 200, map[string]int{"Query": 1, "BatchGetItem": 1}},
		{"a page filtered by a unit reads the unit, its entries and the all_units ones: one GetItem, two Queries and one BatchGetItem (three Queries for a unit of a kind)", func() *apitest.Response {
			return e.Do("GET", "/v1/users?limit=50&unit=unt_none", owner, nil)
		}, 200, map[string]int{"GetItem": 1, "Query": 2, "BatchGetItem": 1}},
		{"a page filtered by status and q reads a round of 100 entries: here one", func() *apitest.Response {
			return e.Do("GET", "/v1/users?limit=50&status=active&q=seed", owner, nil)
		}, 200, map[string]int{"Query": 1, "BatchGetItem": 1}},
		{"reading a user is one GetItem", func() *apitest.Response {
			return e.Do("GET", "/v1/users/"+e.Org.Owner.ID, owner, nil)
		}, 200, map[string]int{"GetItem": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.ResetCounters()
			if r := c.do(); r.Status != c.status {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			got := map[string]int{}
			// Creations run in the bulk function, the rest in users.
			for _, op := range append(e.Counters[route.Users].Operations(), e.Counters[route.Bulk].Operations()...) {
				got[op]++
			}
			total := 0
			for _, n := range c.want {
				total += n
			}
			if calls := e.Counters[route.Users].Calls() + e.Counters[route.Bulk].Calls(); calls != total || len(got) != len(c.want) {
				t.Fatalf("calls %d %v, want %v", calls, got, c.want)
			}
			for op := range c.want {
				if got[op] == 0 {
					t.Fatalf("no %s: %v", op, got)
				}
			}
			if a := e.Counters[route.Authorizer].Calls(); a != 1 {
				t.Fatalf("authorizer made %d calls", a)
			}
		})
	}
}

func report(b *testing.B, e *apitest.Env) {
	b.ReportMetric(float64(e.Calls())/float64(b.N), "ddb-calls/op")
}

// BenchmarkCreateUser creates e-mail persons through the local gateway.
func BenchmarkCreateUser(b *testing.B) {
	e := apitest.New(b)
	owner := e.LoginOwner(b).AccessToken
	e.StartBench(b)
	for i := range b.N {
		body := map[string]any{"email": fmt.Sprintf("bench%d@example.com", i), "first_name": "B", "last_name": "N", "role": "member"}
		if r := e.Do("POST", "/v1/users", owner, body); r.Status != 201 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	report(b, e)
	e.ReportFloor(b, route.Users, "POST", "/v1/users", owner, map[string]any{"email": "floor@example.com", "first_name": "B", "last_name": "N", "role": "member"})
}

// BenchmarkListUsers reads pages of 50 of an organization of 1,000 users.
func BenchmarkListUsers(b *testing.B) {
	e := apitest.New(b)
	owner := e.LoginOwner(b).AccessToken
	seedUsers(b, e, 1000)
	e.StartBench(b)
	for range b.N {
		if r := e.Do("GET", "/v1/users?limit=50", owner, nil); r.Status != 200 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	report(b, e)
	e.ReportFloor(b, route.Users, "GET", "/v1/users?limit=50", owner, nil)
}

// BenchmarkListUsersSelective reads pages of 50 of the holders of a role
// one user in 100 holds, of GUICHET_BENCH_USERS users (default 2,000;
// 10,000 is the size of issue 13, which the embedded DynamoDB takes about
// half an hour to seed: it sorts its keys at every write), store-seeded
// with their entries: every page is one Query of the role's entries and
// one BatchGetItem, whatever the organization's size (before the entries,
// about 200 sequential pages of one Query each at 10,000, most empty).
func BenchmarkListUsersSelective(b *testing.B) {
	n := 2000
	if v := os.Getenv("GUICHET_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("GUICHET_BENCH_USERS=%q", v)
		}
	}
	e := apitest.New(b)
	owner := e.LoginOwner(b).AccessToken
	var role users.Role
	e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Rare", "permissions": []string{"users:read"}}).Decode(b, &role)
	roles := make([]string, 100)
	for i := range roles {
		roles[i] = "member"
	}
	roles[0] = role.ID
	seedMix(b, e, n, roles, "", "")
	pages := 0
	e.StartBench(b)
	for range b.N {
		cur := ""
		for {
			var page users.Page
			r := e.Do("GET", "/v1/users?limit=50&role="+role.ID+"&cursor="+cur, owner, nil)
			if r.Status != 200 {
				b.Fatalf("%d %s", r.Status, r.Body)
			}
			r.Decode(b, &page)
			pages++
			if cur = page.NextCursor; cur == "" {
				break
			}
			if calls := e.Counters[route.Users].Calls(); calls != 2*pages {
				b.Fatalf("%d calls for %d pages", calls, pages)
			}
			if len(page.Items) != 50 {
				b.Fatalf("a page of %d", len(page.Items))
			}
		}
	}
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	b.ReportMetric(float64(e.Counters[route.Users].Calls())/float64(pages), "users-ddb-calls/page")
	report(b, e)
}
