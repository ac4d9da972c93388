package store_test

import (
	"errors"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// deactivated returns u, with two-step verification on, after its
// deactivation.
func (e *env) deactivated(t *testing.T, u store.User) store.User {
	t.Helper()
	next := u
	next.Status, next.MFASecret, next.MFAStep = store.Inactive, "sealed-secret", 1
	if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.status")}); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetUser(bg, u.Org, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Every path writing a credential for a user holds a condition on the
// user in its transaction: one written after a deactivation read the
// user's index would outlive it.
func TestNoCredentialIsWrittenForAnInactiveUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.deactivated(t, e.addUser(t, "gone@acme.example", "member"))
	refused := func(t *testing.T, err error) {
		t.Helper()
		if !store.Lost(err, store.UserChanged) {
			t.Fatalf("written for an inactive user: %v", err)
		}
		if n := indexedUnder(t, e, u.ID); n != 0 {
			t.Fatalf("%d items indexed under the inactive user", n)
		}
	}
	t.Run("a login challenge", func(t *testing.T) {
		refused(t, e.st.PutCredential(bg, e.cred(store.MFAChallenge, u)))
	})
	t.Run("a session", func(t *testing.T) {
		sess, access, refresh := e.newSession(u)
		refused(t, e.st.CreateSession(bg, sess, access, refresh))
	})
	t.Run("an API key", func(t *testing.T) {
		c, k := e.apiKey(u)
		refused(t, e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")))
	})
	t.Run("a reset link", func(t *testing.T) {
		refused(t, e.st.CreateReset(bg, store.EmailLogin(u.Email), e.cred(store.ResetToken, u), "", nil))
	})
	t.Run("an e-mail change link", func(t *testing.T) {
		refused(t, e.st.CreateEmailChange(bg, e.cred(store.EmailChangeToken, u), ""))
	})
	t.Run("a session opened by a two-step code", func(t *testing.T) {
		sess, access, refresh := e.newSession(u)
		err := e.st.WriteMFA(bg, store.MFAWrite{Step: &store.StepUse{Org: u.Org, User: u.ID, Secret: u.MFASecret, Step: 2},
			Next: store.Next{Session: &sess, Access: access, Refresh: refresh}})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("written for an inactive user: %v", err)
		}
		if n := indexedUnder(t, e, u.ID); n != 0 {
			t.Fatalf("%d items indexed under the inactive user", n)
		}
	})
	t.Run("a transaction with a credential and no condition on its user is refused before it is sent", func(t *testing.T) {
		active := e.addUser(t, "here@acme.example", "member")
		sess, access, refresh := e.newSession(u)
		// A session of another user, with a two-step change of this one.
		next := active
		next.Updated = e.now
		err := e.st.WriteMFA(bg, store.MFAWrite{Change: &store.UserChange{Old: active, New: &next, Audit: e.audit("user.mfa")},
			Next: store.Next{Session: &sess, Access: access, Refresh: refresh}})
		if err == nil || errors.Is(err, store.ErrConflict) {
			t.Fatalf("a session written with no look at its user: %v", err)
		}
		if n := indexedUnder(t, e, u.ID); n != 0 {
			t.Fatalf("%d items written", n)
		}
	})
	t.Run("a session opened by a recovery code", func(t *testing.T) {
		sess, access, refresh := e.newSession(u)
		refused(t, e.st.WriteMFA(bg, store.MFAWrite{Next: store.Next{Session: &sess, Access: access, Refresh: refresh}}))
	})
	t.Run("an active user's challenge is written", func(t *testing.T) {
		active := e.addUser(t, "stays@acme.example", "member")
		if err := e.st.PutCredential(bg, e.cred(store.MFAChallenge, active)); err != nil {
			t.Fatal(err)
		}
	})
}
