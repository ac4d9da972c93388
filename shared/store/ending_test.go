package store_test

import (
	"errors"
	"testing"
	"time"

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
		cursor, left := "", 211
		for batch := 1; ; batch++ {
			next, more, err := e.st.EndBatch(bg, u.ID, store.EndAll, cursor)
			if err != nil || next != "" {
				t.Fatalf("%q %v: a batch keeping nothing starts the next one at the start", next, err)
			}
			if left -= 100; max(left, 0) != indexedUnder(t, e, u.ID) {
				t.Fatalf("batch %d left %d items, want %d", batch, indexedUnder(t, e, u.ID), max(left, 0))
			}
			if !more {
				if batch != 3 {
					t.Fatalf("%d batches, want 3", batch)
				}
				break
			}
			cursor = next
		}
	})
	t.Run("the API key's entry goes with its credential", func(t *testing.T) {
		keys, _, err := e.st.ListAPIKeys(bg, e.org.ID, "", 10)
		if err != nil || len(keys) != 0 {
			t.Fatalf("%d entries left (%v)", len(keys), err)
		}
	})
	t.Run("a batch run again once nothing is left changes nothing", func(t *testing.T) {
		next, more, err := e.st.EndBatch(bg, u.ID, store.EndAll, "")
		if err != nil || next != "" || more {
			t.Fatalf("%q %v, %v", next, more, err)
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
		Job: store.EndingJobOf(u.Org, u.ID, store.EndAll, e.now)})
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

func TestAnEndingBeforeSparesWhatCameAfterAndPassesWhatItKeeps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.addUser(t, "changer@acme.example", "member")
	for range 40 { // 120 index items from before the change
		e.session(t, u)
	}
	c, k := e.apiKey(u)
	if err := e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")); err != nil {
		t.Fatal(err)
	}
	_, sessions, err := e.st.UserCredentials(bg, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	kept := sessions[0].ID
	ending := store.EndSessionsBut(kept)
	ending.Before = e.now.Add(time.Second)
	e.now = e.now.Add(2 * time.Second)
	e.session(t, u) // after the change: spared
	cursor, batches := "", 0
	for {
		next, more, err := e.st.EndBatch(bg, u.ID, ending, cursor)
		if err != nil {
			t.Fatal(err)
		}
		batches++
		if !more {
			break
		}
		cursor = next
	}
	// Left: the API key, the kept session and its two tokens, the session
	// from after the change and its two tokens.
	if n := indexedUnder(t, e, u.ID); n != 7 || batches != 2 {
		t.Fatalf("%d items left after %d batches, want 7 after 2", n, batches)
	}
	if _, err := e.st.GetSession(bg, kept); err != nil {
		t.Fatalf("the kept session: %v", err)
	}
}
