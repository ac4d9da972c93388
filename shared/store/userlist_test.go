package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// entries returns the filter entries of the table, as "filter#value user".
func entries(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	prefix := "ORG#" + e.org.ID + "#USERS#"
	for _, item := range scan(t, e) {
		if i := strings.Index(item, prefix); i >= 0 {
			rest := item[i+len(prefix):]
			pk := rest[:strings.IndexByte(rest, '"')]
			j := strings.Index(rest, "USER#")
			sk := rest[j+len("USER#"):]
			out = append(out, pk+" "+sk[:strings.IndexByte(sk, '"')])
		}
	}
	slices.Sort(out)
	return out
}

func TestFilterEntriesFollowTheUser(t *testing.T) {
	e := newEnv(t)
	a, b := e.addUnit(t, ""), e.addUnit(t, "")
	role := e.addRole(t, "Crew")
	u := e.addUser(t, "ada@acme.example", "member", a.ID)
	want := func(t *testing.T, lines ...string) {
		t.Helper()
		var mine []string
		for _, x := range entries(t, e) {
			if strings.HasSuffix(x, " "+u.ID) {
				mine = append(mine, strings.TrimSuffix(x, " "+u.ID))
			}
		}
		slices.Sort(lines)
		if !slices.Equal(mine, lines) {
			t.Fatalf("entries %v, want %v", mine, lines)
		}
	}
	t.Run("a creation writes one entry per status, kind, role and unit", func(t *testing.T) {
		want(t, "status#active", "kind#person", "role#member", "unit#"+a.ID)
	})
	t.Run("a change adds and deletes only the entries whose value changed", func(t *testing.T) {
		next := u
		next.Role, next.Units, next.Status = role.ID, []string{b.ID}, store.Inactive
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.update")}); err != nil {
			t.Fatal(err)
		}
		want(t, "status#inactive", "kind#person", "role#"+role.ID, "unit#"+b.ID)
		u, _ = e.st.GetUser(bg, u.Org, u.ID)
		next = u
		next.Units, next.AllUnits = nil, true
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.update")}); err != nil {
			t.Fatal(err)
		}
		want(t, "status#inactive", "kind#person", "role#"+role.ID, "unit#*")
		u, _ = e.st.GetUser(bg, u.Org, u.ID)
	})
	t.Run("a change that loses its race writes no entry", func(t *testing.T) {
		stale := u
		stale.Version--
		next := u
		next.Status = store.Active
		if err := e.st.ChangeUser(bg, store.UserChange{Old: stale, New: &next, Audit: e.audit("user.update")}); !store.Lost(err, store.VersionChanged) {
			t.Fatal(err)
		}
		want(t, "status#inactive", "kind#person", "role#"+role.ID, "unit#*")
	})
	t.Run("a deletion deletes every entry", func(t *testing.T) {
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, Audit: e.audit("user.delete")}); err != nil {
			t.Fatal(err)
		}
		want(t)
	})
}

func TestBuiltInRolesCountTheirHolders(t *testing.T) {
	e := newEnv(t)
	counts := func(t *testing.T, want map[string]int) {
		t.Helper()
		got, err := e.st.BuiltInRoleCounts(bg, e.org.ID, []string{"owner", "admin", "member"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
	t.Run("an organization starts with its owner counted", func(t *testing.T) {
		counts(t, map[string]int{"owner": 1, "admin": 0, "member": 0})
	})
	ada := e.addUser(t, "ada@acme.example", "admin")
	bob := e.addUser(t, "bob@acme.example", "member")
	t.Run("creations, imports and role changes count", func(t *testing.T) {
		batch := []store.NewUser{{User: e.person("c1@acme.example", "member")}, {User: e.person("c2@acme.example", "member")}}
		for _, g := range store.GroupUsers(batch) {
			if err := e.st.CreateUsers(bg, g); err != nil {
				t.Fatal(err)
			}
		}
		next := bob
		next.Role = "admin"
		if err := e.st.ChangeUser(bg, store.UserChange{Old: bob, New: &next, Audit: e.audit("user.update")}); err != nil {
			t.Fatal(err)
		}
		counts(t, map[string]int{"owner": 1, "admin": 2, "member": 2})
	})
	t.Run("an ownership transfer moves one holder each way in one transaction", func(t *testing.T) {
		from, to := e.owner, ada
		from, _ = e.st.GetUser(bg, from.Org, from.ID)
		nf, nt := from, to
		nf.Role, nt.Role = "admin", "owner"
		err := e.st.TransferOwnership(bg, e.org, ada.ID,
			store.UserChange{Old: from, New: &nf, Audit: e.audit("organization.transfer")},
			store.UserChange{Old: to, New: &nt, Audit: e.audit("organization.transfer")})
		if err != nil {
			t.Fatal(err)
		}
		counts(t, map[string]int{"owner": 1, "admin": 2, "member": 2})
	})
	t.Run("a deletion counts down", func(t *testing.T) {
		b, _ := e.st.GetUser(bg, bob.Org, bob.ID)
		if err := e.st.ChangeUser(bg, store.UserChange{Old: b, Audit: e.audit("user.delete")}); err != nil {
			t.Fatal(err)
		}
		counts(t, map[string]int{"owner": 1, "admin": 1, "member": 2})
	})
	t.Run("another organization's counts are its own", func(t *testing.T) {
		got, err := e.st.BuiltInRoleCounts(bg, "org_other", []string{"owner", "admin"})
		if err != nil || got["owner"] != 0 || got["admin"] != 0 {
			t.Fatalf("%v %v", got, err)
		}
	})
}

func TestGroupsOfAnImportHoldTheirEntriesWithinOneTransaction(t *testing.T) {
	e := newEnv(t)
	var units []string
	for range 10 {
		units = append(units, e.addUnit(t, "").ID)
	}
	var batch []store.NewUser
	for i := range 40 {
		u := e.person(fmt.Sprintf("u%02d@acme.example", i), "member")
		u.Units = units
		batch = append(batch, store.NewUser{User: u})
	}
	groups := store.GroupUsers(batch)
	// Each user: itself, its login guard and 13 entries (15 items); with
	// 11 counters a group, five users fit in 100 items.
	if len(groups) != 8 {
		t.Fatalf("%d groups", len(groups))
	}
	for _, g := range groups {
		if err := e.st.CreateUsers(bg, g); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(entries(t, e)); n != 40*13+3 { // and the owner's
		t.Fatalf("%d entries", n)
	}
}

func TestUnprocessedKeysOfABatchGetAreAskedAgain(t *testing.T) {
	e := newEnv(t)
	u := e.addUser(t, "ada@acme.example", "member")
	t.Run("answered in part once, the read is whole", func(t *testing.T) {
		attempts := e.faults.Attempts()
		e.faults.UnprocessKeys(1)
		c, err := e.st.UserContextOf(bg, u.Org, u.ID)
		if err != nil || !c.Found || c.Org.ID != e.org.ID {
			t.Fatalf("%+v %v", c, err)
		}
		if got := e.faults.Attempts() - attempts; got != 2 {
			t.Fatalf("%d attempts", got)
		}
	})
	t.Run("a listing page reads every user of its entries", func(t *testing.T) {
		for i := range 5 {
			e.addUser(t, fmt.Sprintf("m%d@acme.example", i), "member")
		}
		e.faults.UnprocessKeys(2)
		p, err := e.st.ListUsersPage(bg, e.org.ID, store.UserFilter{Role: "member"}, "", 10)
		if err != nil || len(p.Users) != 6 || p.Next != "" {
			t.Fatalf("%d users, next %q: %v", len(p.Users), p.Next, err)
		}
	})
	t.Run("answered in part every time, it is unavailable after its retries", func(t *testing.T) {
		e.faults.UnprocessKeys(-1)
		defer e.faults.Clear()
		attempts := e.faults.Attempts()
		_, err := e.st.UserContextOf(bg, u.Org, u.ID)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatal(err)
		}
		if got := e.faults.Attempts() - attempts; got != 6 {
			t.Fatalf("%d attempts", got)
		}
	})
}
