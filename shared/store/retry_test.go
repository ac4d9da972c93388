package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

func TestATransactionRacingOthersIsRunAgain(t *testing.T) {
	for _, n := range []int{1, store.TransactRetries} {
		t.Run(fmt.Sprintf("cancelled %d times by a TransactionConflict, it is written", n), func(t *testing.T) {
			e := newEnv(t)
			e.faults.ConflictTransactions(n, nil)
			attempts := e.faults.Attempts()
			u := e.person("ada@acme.example", "member")
			if err := e.st.CreateUser(bg, u, e.audit("user.create")); err != nil {
				t.Fatal(err)
			}
			if got := e.faults.Attempts() - attempts; got != n+1 {
				t.Fatalf("%d attempts", got)
			}
			if _, err := e.st.GetUser(bg, u.Org, u.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("cancelled every time, it is unavailable after its retries", func(t *testing.T) {
		e := newEnv(t)
		e.faults.ConflictTransactions(-1, nil)
		defer e.faults.Clear()
		attempts := e.faults.Attempts()
		err := e.st.CreateUser(bg, e.person("ada@acme.example", "member"), e.audit("user.create"))
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrConflict) {
			t.Fatalf("%v", err)
		}
		if got := e.faults.Attempts() - attempts; got != store.TransactRetries+1 {
			t.Fatalf("%d attempts", got)
		}
	})
	t.Run("the loser of a race loses its condition when run again", func(t *testing.T) {
		e := newEnv(t)
		winner := e.person("ada@acme.example", "member")
		var won error
		e.faults.ConflictTransactions(1, func() { won = e.st.CreateUser(bg, winner, e.audit("user.create")) })
		err := e.st.CreateUser(bg, e.person("ada@acme.example", "member"), e.audit("user.create"))
		if won != nil {
			t.Fatal(won)
		}
		if !store.Lost(err, store.LoginTaken) || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%v", err)
		}
	})
}
