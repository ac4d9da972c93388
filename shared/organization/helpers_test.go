package organization_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
)

// unchanged fails t if the table differs from before.
func unchanged(t testing.TB, e *apitest.Env, before []string) {
	t.Helper()
	if after := e.Scan(t); !slices.Equal(before, after) {
		t.Fatalf("the table changed:\nbefore %v\nafter  %v", before, after)
	}
}

// refused sends a request, fails t unless it is refused with status and
// writes nothing, and returns the problem.
func refused(t testing.TB, e *apitest.Env, method, path, tok string, body any, status int) problem.Problem {
	t.Helper()
	before := e.Scan(t)
	p := e.Do(method, path, tok, body).Problem(t, status)
	unchanged(t, e, before)
	return p
}

// fieldsOf lists the fields a problem's errors name, in order.
func fieldsOf(p problem.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// made fails t unless the organization function has made exactly these
// DynamoDB calls, in order, since the last ResetCounters.
func made(t testing.TB, e *apitest.Env, want ...string) {
	t.Helper()
	if got := e.Counters[route.Organization].Operations(); !slices.Equal(got, want) {
		t.Errorf("function made %v", got)
	}
}

// calls is the organization function's DynamoDB calls by action since the
// last ResetCounters, as "Action" repeated per call.
func calls(e *apitest.Env) int { return e.Counters[route.Organization].Calls() }

// raw sends body as is with the given content type.
func raw(e *apitest.Env, method, path, token, contentType string, body []byte) *apitest.Response {
	h := map[string]string{"Authorization": "Bearer " + token}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return e.DoHeader(method, path, h, body)
}

// auditEvent is an entry of GET /v1/audit.
type auditEvent struct {
	ID     string   `json:"id"`
	Actor  string   `json:"actor"`
	Via    string   `json:"via"`
	Action string   `json:"action"`
	Target string   `json:"target"`
	Fields []string `json:"fields"`
}

type auditPage struct {
	Items      []auditEvent `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// lastEvent returns the newest audit event of the caller's organization.
func lastEvent(t testing.TB, e *apitest.Env, token string) auditEvent {
	t.Helper()
	p := apitest.Want[auditPage](t, e.Do("GET", "/v1/audit?limit=1", token, nil), 200, "audit")
	if len(p.Items) == 0 {
		t.Fatal("the audit trail is empty")
	}
	return p.Items[0]
}

// addUser writes an active person of the seeded organization with a
// built-in role, assigned to units (the store counts them as refs), and
// returns its id. It is apitest.AddUser with units, and with no
// permissions attribute at all for a role that has none: an empty list
// attribute comes back corrupted from the embedded DynamoDB.
func addUser(t testing.TB, e *apitest.Env, email, role string, units ...string) string {
	t.Helper()
	hash, err := password.Hash(apitest.UserPassword, password.Cheap)
	if err != nil {
		t.Fatal(err)
	}
	perms, _ := e.Config.Permissions.BuiltIn(role)
	var granted []string
	if len(perms) > 0 {
		granted = permission.Strings(perms)
	}
	now := e.Clock.Now().UTC()
	u := store.User{Org: e.Org.Org.ID, OrgCode: e.Org.Org.Code, ID: store.NewID("usr_"), Kind: store.Person,
		Email: email, FirstName: "Test", LastName: role, Language: "en", Role: role,
		Permissions: granted, Units: units, AllUnits: len(units) == 0,
		Status: store.Active, PasswordHash: hash, Created: now, Updated: now}
	a := store.Audit{Org: u.Org, Time: now, Actor: "test", Via: "test", Action: "user.create", Target: "user:" + u.ID}
	if err := e.Store.CreateUser(context.Background(), u, a); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// memberToken returns a session access token of a new member of the
// seeded organization. It writes the session as login would, but without
// an empty permissions list: logging in as a member through the API
// currently fails, as the embedded DynamoDB corrupts an item holding an
// empty list attribute (the credential's permissions).
func memberToken(t testing.TB, e *apitest.Env) string {
	t.Helper()
	user := addUser(t, e, "member@acme.example", permission.RoleMember)
	now := e.Clock.Now()
	id := store.NewID("ses_")
	access, ah := e.AccessToken(t, id, now.Add(time.Hour))
	_, rh, err := token.New(token.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	ac := store.NewCredential(ah, store.AccessToken, e.Org.Org.ID, user, now, now.Add(time.Hour))
	ac.UserKind, ac.Role, ac.Session = store.Person, permission.RoleMember, id
	rc := store.NewCredential(rh, store.RefreshToken, e.Org.Org.ID, user, now, now.Add(time.Hour))
	rc.Session = id
	sess := store.Session{ID: id, Org: e.Org.Org.ID, User: user, Created: now, LastUsed: now}
	if err := e.Store.CreateSession(context.Background(), sess, ac, rc); err != nil {
		t.Fatal(err)
	}
	return access
}

// newEnv starts a stack whose clock is past the seeding (which used the
// real clock), so events of the test come after the organization's
// creation in the audit trail.
func newEnv(t testing.TB) *apitest.Env {
	e := apitest.New(t)
	e.Clock.Advance(time.Minute)
	return e
}
