package users_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/users"
)

// importCSV returns a CSV of n persons from first on, each with the given
// role and units.
func importCSV(first, n int, role string, units ...string) string {
	var b strings.Builder
	b.WriteString("email,first_name,last_name,role,units\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, "bulk%06d@example.com,Bulk,User %d,%s,%s\n", i, i, role, strings.Join(units, ";"))
	}
	return b.String()
}

func unit(t testing.TB, e *apitest.Env, token, name string) string {
	t.Helper()
	r := e.Do("POST", "/v1/organization/units", token, map[string]any{"name": name, "kind": "site"})
	var u struct {
		ID string `json:"id"`
	}
	r.Decode(t, &u)
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	return u.ID
}

func TestImportCountsReferencesOncePerGroup(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u1, u2 := unit(t, e, owner, "North"), unit(t, e, owner, "South")
	r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Crew", "permissions": []string{"users:read"}})
	var role users.Role
	r.Decode(t, &role)
	e.ResetCounters()
	rep := importFile(t, e, owner, "", "text/csv", importCSV(0, 150, role.ID, u1, u2))
	if len(rep.Accepted) != 150 || len(rep.Rejected) != 0 {
		t.Fatalf("%+v", rep.Rejected)
	}
	// the organization (GetItem); roles and units (a Query each); the
	// logins and the organization's claims (three BatchGetItems of 100);
	// 150 unproved users × 9 items (user, claim, checks of the login guard
	// and of the organization's membership entry, entries of status, kind,
	// role and two units) + 3 counters in 15 transactions of at most 100
	// items (10 users each); the audit event: 22 calls.
	ops := e.Counters[route.Bulk].Operations()
	if n := e.Counters[route.Bulk].Calls(); n != 22 || fmt.Sprint(ops) != "[BatchGetItem GetItem Query TransactWriteItems]" {
		t.Fatalf("%d calls: %v", n, ops)
	}
	ctx := context.Background()
	for _, id := range []string{u1, u2} {
		if u, err := e.Store.GetUnit(ctx, e.Org.Org.ID, id); err != nil || u.Refs != 150 {
			t.Fatalf("unit %s refs %d %v", id, u.Refs, err)
		}
	}
	if ro, err := e.Store.GetRole(ctx, e.Org.Org.ID, role.ID); err != nil || ro.Refs != 150 {
		t.Fatalf("role refs %d %v", ro.Refs, err)
	}
	t.Run("two concurrent imports of one file write each row once, and reject it in the other", func(t *testing.T) {
		// Both may pass the login pre-check; then a group of one loses its
		// conditions and is retried row by row, rejecting only taken logins.
		body := importCSV(1000, 120, "member", u1)
		reps := make([]users.ImportReport, 2)
		var wg sync.WaitGroup
		for i := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := send(e, "POST", "/v1/users/import", owner, "text/csv", []byte(body))
				r.Decode(t, &reps[i])
			}()
		}
		wg.Wait()
		seen := map[int]int{}
		for _, rep := range reps {
			for _, a := range rep.Accepted {
				seen[a.Line]++
			}
			for _, r := range rep.Rejected {
				if r.Field != "email" {
					t.Fatalf("%+v", r)
				}
				seen[r.Line] += 10
			}
		}
		for line := 2; line < 122; line++ {
			if seen[line] != 11 {
				t.Fatalf("line %d: %d", line, seen[line])
			}
		}
		if u, err := e.Store.GetUnit(ctx, e.Org.Org.ID, u1); err != nil || u.Refs != 270 {
			t.Fatalf("unit refs %d %v", u.Refs, err)
		}
	})
}

// BenchmarkImport1000 imports 1,000 e-mail users (no hashing: they are
// pending) through the gateway, and reports the users function's DynamoDB
// calls per import.
func BenchmarkImport1000(b *testing.B) {
	e := apitest.New(b)
	owner := e.LoginOwner(b).AccessToken
	calls := 0
	e.StartBench(b)
	for i := range b.N {
		body := importCSV(i*1000, 1000, "member")
		e.ResetCounters()
		r := send(e, "POST", "/v1/users/import", owner, "text/csv", []byte(body))
		if r.Status != 200 {
			b.Fatalf("%d %.300s", r.Status, r.Body)
		}
		calls += e.Counters[route.Bulk].Calls()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "ddb-calls/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/user")
	e.ReportFloorCalls(b, calls/b.N, "POST", "/v1/users/import", owner, []byte(importCSV(b.N*1000, 1000, "member")))
}
