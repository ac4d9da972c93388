package apitest

import (
	"context"
	"fmt"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// FakeHash is a password hash of the length of an argon2id PHC string,
// which opens with no password: seeded users weigh in an export what real
// ones do, without hashing thousands of passwords.
const FakeHash = "$argon2id$v=19$m=19456,t=2,p=1$c2VlZGVkc2VlZGVkc2VlZA$c2VlZGVkc2VlZGVkc2VlZGVkc2VlZGVkc2VlZGVkc2U"

// SeedPeople writes n active members of the seeded organization straight
// into the table, in transactions of store.GroupUsers (about 30 users
// each), with addresses seed<i>@<domain>, names of a realistic length (a row of
// about 300 bytes in a CSV export with hashes: 5 MiB is 17,800 such
// users, where the API's export used to fail) and FakeHash; it returns them.
func (e *Env) SeedPeople(t testing.TB, n int, domain string) []store.User {
	t.Helper()
	now := e.Clock.Now()
	news := make([]store.NewUser, n)
	out := make([]store.User, n)
	for i := range n {
		u := store.User{Org: e.Org.Org.ID, OrgCode: "acme", ID: store.NewID("usr_"), Kind: store.Person,
			Email: fmt.Sprintf("seed%05d@%s", i, domain), FirstName: "Seeded-Given-Name",
			LastName: fmt.Sprintf("Person-%05d-With-A-Much-Longer-Family-Name", i),
			Language: "en", Role: "member", Status: store.Active, AllUnits: true, PasswordHash: FakeHash,
			Created: now, Updated: now}
		news[i], out[i] = store.NewUser{User: u}, u
	}
	for _, g := range store.GroupUsers(news) {
		if err := e.Store.CreateUsers(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
