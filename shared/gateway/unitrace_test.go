package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestAUnitLimitedWriteRacingItsCallersNarrowing: a unit-limited manager
// changes a user of its hotel while the owner takes the hotel from it.
// Each write is conditional on the manager's units (and the unit tree) as
// its check read them, so it lands before the narrowing (200) or not at
// all (409 conflict, or 404 once the user is outside): never a 500, and
// never after it (store's TestAChangeHoldsItsCallersReach pins the
// interleaving the race can only sometimes hit).
func TestAUnitLimitedWriteRacingItsCallersNarrowing(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)
	mgrID, mgr := limitedAdmin(t, e, owner, "manager@acme.example", map[string]any{"units": []string{u.estA}})
	target := person(t, e, owner, "guest", map[string]any{"units": []string{u.estA}})
	seen := map[int]int{}
	for round := range 12 {
		var wg sync.WaitGroup
		var narrowed, wrote int
		wg.Add(2)
		go func() {
			defer wg.Done()
			narrowed = e.Do("PATCH", "/v1/users/"+mgrID, owner, map[string]any{"units": []string{u.estB}}).Status
		}()
		go func() {
			defer wg.Done()
			r := e.Do("PATCH", "/v1/users/"+target, mgr, map[string]any{"first_name": fmt.Sprintf("Round%d", round)})
			wrote = r.Status
			if r.Status == http.StatusConflict {
				if p := r.Problem(t, http.StatusConflict); p.Code != "conflict" {
					t.Errorf("409 %s", p.Code)
				}
			}
		}()
		wg.Wait()
		if narrowed != 200 {
			t.Fatalf("round %d: the narrowing answered %d", round, narrowed)
		}
		if wrote != 200 && wrote != 404 && wrote != 409 {
			t.Fatalf("round %d: the manager's write answered %d", round, wrote)
		}
		seen[wrote]++
		// Narrowed, the manager reaches the user no more and writes nothing.
		before := e.Scan(t)
		e.Do("PATCH", "/v1/users/"+target, mgr, map[string]any{"first_name": "After"}).Problem(t, http.StatusNotFound)
		if after := e.Scan(t); !slices.Equal(after, before) {
			t.Fatalf("round %d: a refused write changed the table", round)
		}
		e.Do("PATCH", "/v1/users/"+mgrID, owner, map[string]any{"units": []string{u.estA}}).Object(t, http.StatusOK)
	}
	t.Logf("the manager's writes answered %v", seen)
}
