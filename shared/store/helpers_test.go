package store_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/guichet/guichet/shared/devstack"
	"github.com/guichet/guichet/shared/store"
)

// env is a store on its own embedded DynamoDB (the one devstack runs),
// behind the fault injector.
type env struct {
	st     *store.Store
	db     *dynamodb.Client
	table  string
	faults *devstack.Faults
	now    time.Time
	org    store.Org
	owner  store.User
}

var bg = context.Background()

// newEnv starts an embedded DynamoDB (or uses GUICHET_TEST_DYNAMODB's,
// with a table of the test's own) behind devstack's checks, with the table and an organization
// "acme" with its owner.
func newEnv(t *testing.T) *env {
	t.Helper()
	endpoint, table := devstack.TestTable("guichet-store-test")
	backend, embedded, err := devstack.Backend(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	faults := devstack.NewFaults(backend)
	srv := httptest.NewServer(devstack.NewStrict(faults, embedded != nil, slog.New(slog.NewTextHandler(os.Stderr, nil))))
	t.Cleanup(srv.Close)
	db, err := store.NewClient(bg, store.ClientConfig{Endpoint: srv.URL, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := devstack.CreateTable(bg, db, table); err != nil {
		t.Fatal(err)
	}
	if endpoint != "" {
		t.Cleanup(func() {
			if err := devstack.DeleteTable(bg, db, table); err != nil {
				t.Error(err)
			}
		})
	}
	e := &env{st: store.New(db, table), db: db, table: table, faults: faults, now: time.Now().UTC().Truncate(time.Second)}
	e.org = store.Org{ID: store.NewID("org_"), Name: "Acme", Code: "acme", Language: "en", Created: e.now, Updated: e.now}
	e.owner = e.person("owner@acme.example", "owner")
	e.org.OwnerID = e.owner.ID
	if err := e.st.CreateOrg(bg, e.org, e.owner, e.audit("organization.create")); err != nil {
		t.Fatal(err)
	}
	e.owner.Org, e.owner.OrgCode = e.org.ID, e.org.Code
	return e
}

// person returns an active person of acme with a built-in or custom role,
// not written yet.
func (e *env) person(email, role string) store.User {
	return store.User{Org: e.org.ID, OrgCode: e.org.Code, ID: store.NewID("usr_"), Kind: store.Person,
		Email: email, FirstName: "T", LastName: "U", Language: "en", Role: role, Status: store.Active,
		Created: e.now, Updated: e.now}
}

// addUser writes a person of acme and returns it as stored.
func (e *env) addUser(t *testing.T, email, role string, units ...string) store.User {
	t.Helper()
	u := e.person(email, role)
	u.Units = units
	if err := e.st.CreateUser(bg, u, e.audit("user.create")); err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	got, err := e.st.GetUser(bg, u.Org, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) addUnit(t *testing.T, parent string) store.Unit {
	t.Helper()
	u := store.Unit{Org: e.org.ID, ID: store.NewID("unt_"), Name: "Unit", Kind: "site", Parent: parent, Created: e.now, Updated: e.now}
	if err := e.st.CreateUnit(bg, u, e.audit("unit.create")); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) addRole(t *testing.T, name string) store.Role {
	t.Helper()
	r := store.Role{Org: e.org.ID, ID: store.NewID("rol_"), Name: name, Permissions: []string{"users:read"}, Created: e.now, Updated: e.now}
	if err := e.st.CreateRole(bg, r, e.audit("role.create")); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetRole(bg, r.Org, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// session writes a session of u and returns its refresh token as stored.
func (e *env) session(t *testing.T, u store.User) store.Credential {
	t.Helper()
	sess, access, refresh := e.newSession(u)
	if err := e.st.CreateSession(bg, sess, access, refresh); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetCredential(bg, refresh.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// bumpRole changes r's permissions to a new version, as a PATCH does.
func (e *env) bumpRole(t *testing.T, r store.Role) {
	t.Helper()
	next := r
	next.Permissions, next.Version, next.Updated = []string{"users:write"}, r.Version+1, r.Updated.Add(time.Second)
	if err := e.st.UpdateRole(bg, r, next, e.audit("role.update"), nil); err != nil {
		t.Fatal(err)
	}
}

func (e *env) newSession(u store.User) (store.Session, store.Credential, store.Credential) {
	id := store.NewID("ses_")
	access := e.cred(store.AccessToken, u)
	refresh := e.cred(store.RefreshToken, u)
	access.Session, refresh.Session = id, id
	return store.Session{ID: id, Org: u.Org, User: u.ID, Created: e.now, LastUsed: e.now}, access, refresh
}

// cred returns a fresh credential of kind for u, not written yet (an
// access token carries u's role).
func (e *env) cred(kind string, u store.User) store.Credential {
	c := store.NewCredential(store.NewID("h"), kind, u.Org, u.ID, e.now, e.now.Add(time.Hour))
	if kind == store.AccessToken {
		c.Role = u.Role
	}
	return c
}

func (e *env) invitation(email string) (store.Invitation, store.Credential) {
	inv := store.Invitation{Org: e.org.ID, ID: store.NewID("inv_"), Email: email, Role: "member", Language: "en",
		Status: store.Pending, InvitedBy: e.owner.ID, Created: e.now, ExpiresAt: e.now.Add(time.Hour)}
	cred := store.NewCredential(store.NewID("h"), store.InviteToken, e.org.ID, "", e.now, inv.ExpiresAt)
	cred.Ref = inv.ID
	inv.TokenHash = cred.Hash()
	return inv, cred
}

func (e *env) addInvitation(t *testing.T, email string) store.Invitation {
	t.Helper()
	inv, cred := e.invitation(email)
	if err := e.st.CreateInvitation(bg, inv, cred, nil, nil, e.audit("invitation.create")); err != nil {
		t.Fatal(err)
	}
	return inv
}

// apiKey returns the two items of a key of u, not written yet.
func (e *env) apiKey(u store.User) (store.Credential, store.KeyEntry) {
	return store.NewAPIKey(store.NewID("h"), store.NewID("key_"), u.Org, u, "K", "internal", "gk_x",
		[]string{"users:read"}, []string{"users:read"}, e.now, store.NoExpiry)
}

// audit is an event of acme.
func (e *env) audit(action string) store.Audit {
	return store.Audit{Org: e.org.ID, Time: e.now, Actor: "test", Via: "test", Action: action, Target: "test:test"}
}

// renamed is the change giving u another first name.
func (e *env) renamed(u store.User) store.UserChange {
	next := u
	next.FirstName = "Renamed"
	return store.UserChange{Old: u, New: &next, Audit: e.audit("user.update")}
}

// scan returns every item of the table as text, sorted.
func scan(t *testing.T, e *env) []string {
	t.Helper()
	out, err := devstack.DumpTable(bg, e.db, e.table)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
