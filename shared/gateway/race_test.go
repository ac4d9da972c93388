package gateway_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/password"
)

// race runs f from n goroutines at once and returns their statuses.
func race(n int, f func(i int) *apitest.Response) []int {
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = f(i).Status }()
	}
	wg.Wait()
	return statuses
}

func count(statuses []int, status int) int {
	n := 0
	for _, s := range statuses {
		if s == status {
			n++
		}
	}
	return n
}

func TestOneResetTokenUsedManyTimesHasOneWinner(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := e.AddUser(t, "racer@acme.example", "member")
	link := created(t, e, owner, "/v1/users/"+u.ID+"/password-reset", map[string]any{"send_email": false})["link"].(string)
	tok := link[strings.Index(link, "token=")+6:]
	statuses := race(20, func(i int) *apitest.Response {
		return e.Do("POST", "/v1/password-resets/complete", "", map[string]string{"token": tok, "password": "winner-password-" + string(rune('a'+i))})
	})
	if count(statuses, 204) != 1 || count(statuses, 204)+count(statuses, 410)+count(statuses, 409) != 20 {
		t.Fatalf("statuses %v", statuses)
	}
	// Exactly one of the passwords is the user's (checked in the table:
	// trying them all at login would lock the account).
	stored, err := e.Store.GetUser(context.Background(), u.Org, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	works := 0
	for i := range 20 {
		if ok, _, _ := password.Verify("winner-password-"+string(rune('a'+i)), stored.PasswordHash, e.Config.Password); ok {
			works++
		}
	}
	if works != 1 {
		t.Fatalf("%d passwords work", works)
	}
}

func TestOwnerTransferRacingADeactivation(t *testing.T) {
	t.Parallel()
	for round := range 5 {
		e := apitest.New(t)
		owner := e.LoginOwner(t).AccessToken
		heir := e.AddUser(t, "heir@acme.example", "admin")
		_, adminTok := e.AddUserLogin(t, "other-admin@acme.example", "admin")
		statuses := race(2, func(i int) *apitest.Response {
			if i == 0 {
				return e.Do("POST", "/v1/organization/owner", owner, map[string]any{"user_id": heir.ID})
			}
			return e.Do("POST", "/v1/users/"+heir.ID+"/status", adminTok, map[string]any{"status": "inactive"})
		})
		var org struct {
			OwnerID string `json:"owner_id"`
		}
		var h struct {
			Role   string `json:"role"`
			Status string `json:"status"`
		}
		fresh := e.LoginOwner(t).AccessToken
		e.Do("GET", "/v1/organization", fresh, nil).Decode(t, &org)
		e.Do("GET", "/v1/users/"+heir.ID, fresh, nil).Decode(t, &h)
		// Whatever won, the organization never ends with an inactive owner.
		if h.Role == "owner" && h.Status != "active" {
			t.Fatalf("round %d: statuses %v: the owner is %s", round, statuses, h.Status)
		}
		if (org.OwnerID == heir.ID) != (h.Role == "owner") {
			t.Fatalf("round %d: organization owner %s, heir role %s", round, org.OwnerID, h.Role)
		}
		if statuses[0] == 200 && statuses[1] == 200 {
			t.Fatalf("round %d: both won: %v", round, statuses)
		}
	}
}
