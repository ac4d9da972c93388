package store_test

import (
	"errors"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// indexedUnder counts what the user's index holds.
func indexedUnder(t *testing.T, e *env, user string) int {
	t.Helper()
	creds, sessions, err := e.st.UserCredentials(bg, user)
	if err != nil {
		t.Fatal(err)
	}
	return len(creds) + len(sessions)
}

func TestEndBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser(t, "leaver@acme.example", "member")
	for range 70 { // 210 index items
		e.session(t, u)
	}
	c, k := e.apiKey(u)
	if err := e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")); err != nil {
		t.Fatal(err)
	}
	other := e.addUser(t, "stayer@acme.example", "member")
	e.session(t, other)
	t.Run("each batch reads at most 100 index items and deletes what they end", func(t *testing.T) {
		for _, want := range []int{100, 100, 11, 0} {
			n, err := e.st.EndBatch(bg, u.ID, store.EndAll)
			if err != nil || n != want {
				t.Fatalf("batch read %d items (%v), want %d", n, err, want)
			}
		}
		if n := indexedUnder(t, e, u.ID); n != 0 {
			t.Fatalf("%d items left", n)
		}
	})
	t.Run("the API key's entry goes with its credential", func(t *testing.T) {
		keys, _, err := e.st.ListAPIKeys(bg, e.org.ID, "", 10)
		if err != nil || len(keys) != 0 {
			t.Fatalf("%d entries left (%v)", len(keys), err)
		}
	})
	t.Run("a batch run again once nothing is left changes nothing", func(t *testing.T) {
		n, err := e.st.EndBatch(bg, u.ID, store.EndAll)
		if err != nil || n != 0 {
			t.Fatalf("%d, %v", n, err)
		}
	})
	t.Run("another user's items stay", func(t *testing.T) {
		if n := indexedUnder(t, e, other.ID); n != 3 {
			t.Fatalf("%d items of another user", n)
		}
	})
}

func TestAChangeWithAJobWritesItWithTheUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser(t, "leaver@acme.example", "member")
	for range 40 { // 120 index items: the first transaction cannot hold them all
		e.session(t, u)
	}
	ended, err := e.st.Ended(bg, u.ID, store.EndAll)
	if err != nil {
		t.Fatal(err)
	}
	next := u
	next.Status = store.Inactive
	e.faults.FailAfter("TransactWriteItems", 1)
	err = e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Revoke: ended, Audit: e.audit("user.status"),
		Job: store.EndingJobOf(u.Org, u.ID, e.now)})
	e.faults.Clear()
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the change answered %v", err)
	}
	got, err := e.st.GetUser(bg, u.Org, u.ID)
	if err != nil || got.Status != store.Inactive {
		t.Fatalf("%v %s", err, got.Status)
	}
	if _, err := e.st.GetJob(bg, store.EndingJob, u.Org, u.ID); err != nil {
		t.Fatalf("no job: %v", err)
	}
	if n := indexedUnder(t, e, u.ID); n == 0 || n == 120 {
		t.Fatalf("%d items left of 120", n)
	}
}
