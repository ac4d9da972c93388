package store_test

import (
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// TestAChangeHoldsItsCallersReach: a unit-limited caller's change is
// written only while the caller's user and the unit tree are as its check
// read them (UserAndTree); a change of either in between is a Conflict
// and writes nothing.
func TestAChangeHoldsItsCallersReach(t *testing.T) {
	e := newEnv(t)
	a, b := e.addUnit(t, ""), e.addUnit(t, "")
	caller := e.addUser(t, "caller@acme.example", "member", a.ID)
	target := e.addUser(t, "target@acme.example", "member", a.ID)
	read := func() store.Reach {
		me, tree, err := e.st.UserAndTree(bg, e.org.ID, caller.ID)
		if err != nil {
			t.Fatal(err)
		}
		return store.Reach{Org: e.org.ID, User: caller.ID, Version: me.Version, Tree: tree}
	}
	change := func(r store.Reach) error {
		u, err := e.st.GetUser(bg, e.org.ID, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := e.renamed(u)
		c.Reach = &r
		return e.st.ChangeUser(bg, c)
	}
	t.Run("as read, the change is written", func(t *testing.T) {
		if err := change(read()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the caller's units narrowed in between: UserChanged, nothing written", func(t *testing.T) {
		r := read()
		me, _ := e.st.GetUser(bg, e.org.ID, caller.ID)
		next := me
		next.Units = []string{b.ID}
		if err := e.st.ChangeUser(bg, store.UserChange{Old: me, New: &next, Audit: e.audit("user.update")}); err != nil {
			t.Fatal(err)
		}
		before := scan(t, e)
		if err := change(r); !store.Lost(err, store.UserChanged) {
			t.Fatalf("got %v, want a Conflict on UserChanged", err)
		}
		if !slices.Equal(before, scan(t, e)) {
			t.Fatal("the refused change wrote")
		}
	})
	t.Run("a unit moved in between: TreeChanged, nothing written", func(t *testing.T) {
		r := read()
		if err := e.st.UpdateUnit(bg, e.org.ID, b.ID, store.UnitChanges{Move: &store.UnitMove{To: a.ID, TreeVersion: r.Tree}, Updated: e.now}, e.audit("unit.update")); err != nil {
			t.Fatal(err)
		}
		before := scan(t, e)
		if err := change(r); !store.Lost(err, store.TreeChanged) {
			t.Fatalf("got %v, want a Conflict on TreeChanged", err)
		}
		if !slices.Equal(before, scan(t, e)) {
			t.Fatal("the refused change wrote")
		}
		if err := change(read()); err != nil {
			t.Fatalf("read again: %v", err)
		}
	})
	t.Run("a caller changing itself holds the tree only", func(t *testing.T) {
		me, _ := e.st.GetUser(bg, e.org.ID, caller.ID)
		r := read()
		c := e.renamed(me)
		c.Reach = &r
		if err := e.st.ChangeUser(bg, c); err != nil {
			t.Fatal(err)
		}
	})
}

// TestAnAdminsResetLinkHoldsItsCallersReach: a unit-limited admin's reset
// link is written only while the caller's units and the user are as its
// check read them: a link made after the user left the caller's units
// would let the caller set the password of someone it no longer reaches.
func TestAnAdminsResetLinkHoldsItsCallersReach(t *testing.T) {
	e := newEnv(t)
	a, b := e.addUnit(t, ""), e.addUnit(t, "")
	caller := e.addUser(t, "caller@acme.example", "member", a.ID)
	target := e.addUser(t, "target@acme.example", "member", a.ID)
	read := func() (store.Reach, store.User) {
		me, tree, err := e.st.UserAndTree(bg, e.org.ID, caller.ID)
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.st.GetUser(bg, e.org.ID, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		return store.Reach{Org: e.org.ID, User: caller.ID, Version: me.Version, Tree: tree}, u
	}
	link := func(r store.Reach, u store.User) error {
		return e.st.CreateReset(bg, u.LoginKey(), e.cred(store.ResetToken, u), "",
			&store.ResetBy{Audit: e.audit("user.password_reset_link"), Within: &store.Within{Reach: r, Version: u.Version}})
	}
	move := func(u store.User, units ...string) {
		next := u
		next.Units = units
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.update")}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("as read, the link is written", func(t *testing.T) {
		if err := link(read()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the user moved out in between: UserChanged, nothing written", func(t *testing.T) {
		r, u := read()
		move(u, b.ID)
		before := scan(t, e)
		if err := link(r, u); !store.Lost(err, store.UserChanged) {
			t.Fatalf("got %v, want a Conflict on UserChanged", err)
		}
		if !slices.Equal(before, scan(t, e)) {
			t.Fatal("the refused link wrote")
		}
	})
	t.Run("the caller's units narrowed in between: UserChanged", func(t *testing.T) {
		r, u := read()
		me, _ := e.st.GetUser(bg, e.org.ID, caller.ID)
		move(me, b.ID)
		if err := link(r, u); !store.Lost(err, store.UserChanged) {
			t.Fatalf("got %v, want a Conflict on UserChanged", err)
		}
	})
	t.Run("a unit moved in between: TreeChanged", func(t *testing.T) {
		r, u := read()
		if err := e.st.UpdateUnit(bg, e.org.ID, b.ID, store.UnitChanges{Move: &store.UnitMove{To: a.ID, TreeVersion: r.Tree}, Updated: e.now}, e.audit("unit.update")); err != nil {
			t.Fatal(err)
		}
		if err := link(r, u); !store.Lost(err, store.TreeChanged) {
			t.Fatalf("got %v, want a Conflict on TreeChanged", err)
		}
	})
}

// TestAUnitLimitedInvitationHoldsItsInvitersReach: an invitation to the
// inviter's units is written only while the inviter still has them.
func TestAUnitLimitedInvitationHoldsItsInvitersReach(t *testing.T) {
	e := newEnv(t)
	a, b := e.addUnit(t, ""), e.addUnit(t, "")
	caller := e.addUser(t, "caller@acme.example", "member", a.ID)
	me, tree, err := e.st.UserAndTree(bg, e.org.ID, caller.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := store.Reach{Org: e.org.ID, User: caller.ID, Version: me.Version, Tree: tree}
	next := me
	next.Units = []string{b.ID}
	if err := e.st.ChangeUser(bg, store.UserChange{Old: me, New: &next, Audit: e.audit("user.update")}); err != nil {
		t.Fatal(err)
	}
	inv, cred := e.invitation("new@acme.example")
	inv.Units = []string{a.ID}
	before := scan(t, e)
	if err := e.st.CreateInvitation(bg, inv, cred, nil, &r, e.audit("invitation.create")); !store.Lost(err, store.UserChanged) {
		t.Fatalf("got %v, want a Conflict on UserChanged", err)
	}
	if !slices.Equal(before, scan(t, e)) {
		t.Fatal("the refused invitation wrote")
	}
}

// TestAUnitLimitedKeyRevocationHoldsItsCallersReach: another user's key
// is revoked only while that user and the caller's units are as checked.
func TestAUnitLimitedKeyRevocationHoldsItsCallersReach(t *testing.T) {
	e := newEnv(t)
	a, b := e.addUnit(t, ""), e.addUnit(t, "")
	caller := e.addUser(t, "caller@acme.example", "member", a.ID)
	target := e.addUser(t, "target@acme.example", "member", a.ID)
	c, k := e.apiKey(target)
	if err := e.st.CreateAPIKey(bg, c, k, e.audit("apikey.create")); err != nil {
		t.Fatal(err)
	}
	me, tree, err := e.st.UserAndTree(bg, e.org.ID, caller.ID)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := e.st.GetUser(bg, e.org.ID, target.ID)
	w := &store.Within{Reach: store.Reach{Org: e.org.ID, User: caller.ID, Version: me.Version, Tree: tree}, Version: u.Version}
	next := u
	next.Units = []string{b.ID}
	if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.update")}); err != nil {
		t.Fatal(err)
	}
	before := scan(t, e)
	if err := e.st.RevokeAPIKey(bg, k, e.audit("apikey.revoke"), w); !store.Lost(err, store.UserChanged) {
		t.Fatalf("got %v, want a Conflict on UserChanged", err)
	}
	if !slices.Equal(before, scan(t, e)) {
		t.Fatal("the refused revocation wrote")
	}
}
