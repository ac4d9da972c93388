package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/store"
)

// Real DynamoDB cancels a transaction that races another on one of its
// items (TransactionConflict); the embedded one never does, so the fault
// injector does it here.
func TestARaceLoserGetsTheDocumented409(t *testing.T) {
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	body := map[string]any{"email": "twin@example.com", "first_name": "T", "last_name": "W", "role": "member"}

	t.Run("a user creation that raced one of the same e-mail answers 409 email_taken", func(t *testing.T) {
		var won error
		e.Faults.ConflictTransactions(1, func() {
			// The race's winner commits while the loser's transaction is
			// cancelled; the loser's re-run then finds the login taken.
			now := e.Clock.Now().UTC()
			u := store.User{Org: e.Org.Org.ID, OrgCode: e.Org.Org.Code, ID: store.NewID("usr_"), Kind: store.Person,
				Email: "twin@example.com", FirstName: "W", LastName: "Inner", Language: "en", Role: "member",
				Status: store.Active, Created: now, Updated: now}
			won = e.Store.CreateUser(context.Background(), u, store.Audit{Org: u.Org, Time: now, Actor: "test", Via: "test",
				Action: "user.create", Target: "user:" + u.ID})
		})
		defer e.Faults.Clear()
		r := e.Do("POST", "/v1/users", owner, body)
		if won != nil {
			t.Fatal(won)
		}
		if p := r.Problem(t, http.StatusConflict); p.Code != "email_taken" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("a write cancelled by races every time answers 503 with Retry-After", func(t *testing.T) {
		e.Faults.ConflictTransactions(-1, nil)
		defer e.Faults.Clear()
		body["email"] = "third@example.com"
		r := e.Do("POST", "/v1/users", owner, body)
		if p := r.Problem(t, http.StatusServiceUnavailable); p.Code != "unavailable" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %v", r.Body, r.Header)
		}
	})
	t.Run("a write cancelled by a race once is written", func(t *testing.T) {
		e.Faults.ConflictTransactions(1, nil)
		defer e.Faults.Clear()
		body["email"] = "fourth@example.com"
		if r := e.Do("POST", "/v1/users", owner, body); r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}
