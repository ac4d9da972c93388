package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// writes are the DynamoDB operations that change the table.
var writes = []string{"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}

// created posts body to path and returns the "id" of the answer.
func created(t *testing.T, e *apitest.Env, token, path string, body any) map[string]any {
	t.Helper()
	r := e.Do("POST", path, token, body)
	if r.Status != 201 && r.Status != 200 {
		t.Fatalf("%s: %d %s", path, r.Status, r.Body)
	}
	var v map[string]any
	r.Decode(t, &v)
	return v
}

// TestWritesFailWhole fails DynamoDB's writes under every write endpoint:
// each answers 503 with Retry-After, and once the failure is cleared the
// table is exactly as before the call.
func TestWritesFailWhole(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	owner := tok.AccessToken
	user := created(t, e, owner, "/v1/users", map[string]any{"email": "victim@example.com", "first_name": "V", "last_name": "W", "role": "member"})
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Clerks", "permissions": []string{"users:read"}})
	unit := created(t, e, owner, "/v1/organization/units", map[string]any{"name": "HQ", "kind": "site"})
	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "invitee@example.com", "role": "member"})
	key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})
	reset := created(t, e, owner, "/v1/users/"+user["id"].(string)+"/password-reset", map[string]any{"send_email": false})
	admin := e.AddUser(t, "heir@acme.example", "admin")

	cases := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/auth/login", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}},
		{"POST", "/v1/auth/login", map[string]string{"login": "owner@acme.example", "password": "a-wrong-password"}},
		{"POST", "/v1/auth/refresh", map[string]string{"refresh_token": tok.RefreshToken}},
		{"POST", "/v1/auth/logout", nil},
		{"POST", "/v1/users", map[string]any{"email": "new@example.com", "first_name": "N", "last_name": "U", "role": "member"}},
		{"PATCH", "/v1/users/" + user["id"].(string), map[string]any{"first_name": "Changed"}},
		{"POST", "/v1/users/" + user["id"].(string) + "/status", map[string]any{"status": "inactive"}},
		{"DELETE", "/v1/users/" + user["id"].(string), nil},
		{"POST", "/v1/roles", map[string]any{"name": "New role", "permissions": []string{}}},
		{"PATCH", "/v1/roles/" + role["id"].(string), map[string]any{"name": "Renamed"}},
		{"DELETE", "/v1/roles/" + role["id"].(string), nil},
		{"PATCH", "/v1/organization", map[string]any{"name": "Renamed Inc"}},
		{"POST", "/v1/organization/units", map[string]any{"name": "Depot", "kind": "site"}},
		{"PATCH", "/v1/organization/units/" + unit["id"].(string), map[string]any{"name": "Head office"}},
		{"DELETE", "/v1/organization/units/" + unit["id"].(string), nil},
		{"POST", "/v1/organization/owner", map[string]any{"user_id": admin.ID}},
		{"POST", "/v1/invitations", map[string]any{"email": "another@example.com", "role": "member"}},
		{"POST", "/v1/invitations/" + inv["id"].(string) + "/link", nil},
		{"DELETE", "/v1/invitations/" + inv["id"].(string), nil},
		{"POST", "/v1/invitations/accept", map[string]string{"token": apitest.LinkToken(t, inv["link"].(string)), "password": "a-fine-password-7", "first_name": "I", "last_name": "N"}},
		{"POST", "/v1/password-resets", map[string]string{"email": "victim@example.com"}},
		{"POST", "/v1/password-resets/complete", map[string]string{"token": apitest.LinkToken(t, reset["link"].(string)), "password": "a-fine-password-7"}},
		{"POST", "/v1/me/api-keys", map[string]any{"name": "K2", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}}},
		{"POST", "/v1/me/api-keys/" + key["id"].(string) + "/rotate", map[string]any{"current_password": apitest.OwnerPassword}},
		{"DELETE", "/v1/me/api-keys/" + key["id"].(string), nil},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s answers 503 and writes nothing", c.method, c.path), func(t *testing.T) {
			before := e.Scan(t)
			e.Faults.Fail(writes...)
			attempts := e.Faults.Attempts()
			e.ResetCounters()
			r := e.Do(c.method, c.path, owner, c.body)
			calls := e.Calls()
			tried := e.Faults.Attempts() - attempts
			e.Faults.Clear()
			p := r.Problem(t, http.StatusServiceUnavailable)
			if p.Code != "unavailable" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s %v", r.Body, r.Header)
			}
			if after := e.Scan(t); !slices.Equal(before, after) {
				t.Fatalf("the table changed:\n%s", diff(before, after))
			}
			// Each failing call is tried 3 times, no more: the SDK's
			// retries are bounded.
			if tried > 3*calls {
				t.Fatalf("%d HTTP attempts for %d calls", tried, calls)
			}
		})
	}
}

func TestTheTableFailingWholeIsA503(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	e.Faults.Fail("GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
	defer e.Faults.Clear()
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/me"}, {"GET", "/v1/users"}, {"POST", "/v1/auth/login"},
	} {
		r := e.Do(req.method, req.path, owner, map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword})
		if p := r.Problem(t, 503); p.Code != "unavailable" {
			t.Fatalf("%s: %s", req.path, p.Code)
		}
	}
}

func TestMailFailingKeepsTheLinks(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	e.Outbox.Fail(true)
	defer e.Outbox.Fail(false)
	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "x@example.com", "role": "member"})
	if inv["mail_sent"] != false || !strings.Contains(inv["link"].(string), "token=giv_") {
		t.Fatalf("%v", inv)
	}
	if r := e.Do("POST", "/v1/password-resets", "", map[string]string{"email": "owner@acme.example"}); r.Status != 202 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func diff(a, b []string) string {
	var out strings.Builder
	for _, x := range b {
		if !slices.Contains(a, x) {
			fmt.Fprintf(&out, "+ %.300s\n", x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			fmt.Fprintf(&out, "- %.300s\n", x)
		}
	}
	return out.String()
}
