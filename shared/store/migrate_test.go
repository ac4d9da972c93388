package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/guichet/guichet/shared/store"
)

// legacy turns the table into the one the code before persons wrote: the
// same items, without the person items, the membership entries, and the
// person and members attributes of users and login guards (the only
// things persons added).
func legacy(t *testing.T, e *env) {
	t.Helper()
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: &e.table})
	for p.HasMorePages() {
		page, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			pk := it["pk"].(*types.AttributeValueMemberS).Value
			sk := it["sk"].(*types.AttributeValueMemberS).Value
			switch {
			case strings.HasPrefix(pk, "PERSON#"), strings.HasPrefix(pk, "LOGIN#") && strings.HasPrefix(sk, "MEMBER#"):
				if _, err := e.db.DeleteItem(bg, &dynamodb.DeleteItemInput{TableName: &e.table,
					Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}); err != nil {
					t.Fatal(err)
				}
			case it["person"] != nil || it["members"] != nil:
				delete(it, "person")
				delete(it, "members")
				if _, err := e.db.PutItem(bg, &dynamodb.PutItemInput{TableName: &e.table, Item: it}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// migrateAll runs Migrate from cursor to the end in batches of n and sums
// what it did.
func migrateAll(e *env, cursor string, n int) (store.MigrateBatch, string, error) {
	var sum store.MigrateBatch
	for {
		b, err := e.st.Migrate(bg, cursor, n)
		sum.Scanned, sum.Moved, sum.Skipped = sum.Scanned+b.Scanned, sum.Moved+b.Moved, sum.Skipped+b.Skipped
		if err != nil {
			return sum, cursor, err
		}
		if b.Cursor == "" {
			return sum, "", nil
		}
		cursor = b.Cursor
	}
}

// checkMigrated fails t unless every user of users with a proved e-mail is
// its person's one membership, and the others have no person.
func checkMigrated(t *testing.T, e *env, users []store.User) {
	t.Helper()
	for _, u := range users {
		got, err := e.st.GetUser(bg, u.Org, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := e.st.MembershipsOf(bg, got.LoginKey(), got.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Unproved || u.Email == "" {
			if got.Person != "" || len(ms) != 0 {
				t.Fatalf("%s: person %q, %d memberships", u.Email+u.Username, got.Person, len(ms))
			}
			continue
		}
		p, err := e.st.GetPerson(bg, got.ID)
		if err != nil {
			t.Fatalf("%s: %v", u.Email, err)
		}
		if got.Person != got.ID || p.PasswordHash != got.PasswordHash || p.Email != got.Email ||
			len(ms) != 1 || ms[0].User.ID != got.ID {
			t.Fatalf("%s: person %q, %+v, %d memberships", u.Email, got.Person, p, len(ms))
		}
	}
}

// TestMigrateMovesATableOfTheOldLayout: users written by the code before
// persons become persons' memberships; a second run changes nothing; a
// run failing midway, resumed from its cursor, ends the same.
func TestMigrateMovesATableOfTheOldLayout(t *testing.T) {
	e := newEnv(t)
	owner, err := e.st.GetUser(bg, e.org.ID, e.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	users := []store.User{owner}
	for i := range 12 {
		u := e.person(fmt.Sprintf("p%02d@acme.example", i), "member")
		u.PasswordHash = fmt.Sprintf("$hash-%d$", i)
		if err := e.st.CreateUser(bg, u, e.audit("user.create")); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	unproved := e.person("unproved@acme.example", "member")
	unproved.Unproved = true
	pin := e.person("", "member")
	pin.Username = "pinny"
	for _, u := range []store.User{unproved, pin} {
		if err := e.st.CreateUser(bg, u, e.audit("user.create")); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	legacy(t, e)
	old := scan(t, e)
	if slices.ContainsFunc(old, func(s string) bool {
		return strings.Contains(s, "PERSON#") || strings.Contains(s, `"person":`) || strings.Contains(s, "MEMBER#")
	}) {
		t.Fatal("the legacy table holds persons")
	}

	t.Run("interrupted, then resumed from its cursor", func(t *testing.T) {
		e.faults.FailAfter("TransactWriteItems", 4)
		done, cursor, err := migrateAll(e, "", 5)
		e.faults.Clear()
		if err == nil || done.Moved != 4 {
			t.Fatalf("moved %d, err %v: want an interruption after 4", done.Moved, err)
		}
		rest, _, err := migrateAll(e, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		if done.Moved+rest.Moved != 13 {
			t.Fatalf("moved %d+%d, want 13", done.Moved, rest.Moved)
		}
		checkMigrated(t, e, users)
	})
	t.Run("a second run changes nothing", func(t *testing.T) {
		before := scan(t, e)
		again, _, err := migrateAll(e, "", 7)
		if err != nil {
			t.Fatal(err)
		}
		if again.Moved != 0 || again.Skipped != 13 {
			t.Fatalf("%+v", again)
		}
		if after := scan(t, e); !slices.Equal(before, after) {
			t.Fatal("the second run wrote")
		}
	})
	t.Run("a migrated person logs in and changes its password as a new one", func(t *testing.T) {
		u, err := e.st.GetUser(bg, users[1].Org, users[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		next := u
		next.PasswordHash = "$changed$"
		if err := e.st.ChangeUser(bg, store.UserChange{Old: u, New: &next, Audit: e.audit("user.password_change")}); err != nil {
			t.Fatal(err)
		}
		p, err := e.st.GetPerson(bg, u.ID)
		if err != nil || p.PasswordHash != "$changed$" {
			t.Fatalf("%+v %v", p, err)
		}
	})
}
