package users_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// A service user acts within its client application's scopes, whatever
// its role grants, as an API key does.
func TestServiceUserPermissionsAreCappedByItsClient(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	// bijster may ask for users:read and organization:read only.
	c := create(t, e, owner, map[string]any{"kind": "service", "user_code": "bijst01", "client": "bijster",
		"role": "admin", "all_units": true})
	token := func(t *testing.T) string {
		t.Helper()
		return apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/token", "",
			map[string]string{"organization": "acme", "user_code": "bijst01", "password": c.Password}), 200, "token").AccessToken
	}
	stored := func(t *testing.T) []string {
		t.Helper()
		u, err := e.Store.GetUser(context.Background(), e.Org.Org.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Permissions
	}
	t.Run("its stored permissions are its role's within the client's scopes", func(t *testing.T) {
		if got := stored(t); !slices.Equal(got, []string{"users:read", "organization:read"}) {
			t.Fatalf("stored permissions %v", got)
		}
	})
	t.Run("its token reads users (a scope of the client) but cannot write them, even as admin", func(t *testing.T) {
		tok := token(t)
		if r := e.Do("GET", "/v1/users", tok, nil); r.Status != 200 {
			t.Fatalf("GET /v1/users: %d %s", r.Status, r.Body)
		}
		r := e.Do("POST", "/v1/users", tok, map[string]any{"email": "x@acme.example", "first_name": "X", "last_name": "Y", "role": "member"})
		r.Problem(t, http.StatusForbidden)
		if e.Do("DELETE", "/v1/users/"+e.Org.Owner.ID, tok, nil).Status != http.StatusForbidden {
			t.Fatal("deleting a user with users:write outside the client's scopes")
		}
	})
	t.Run("a role change keeps the cap, on the user and on its live token", func(t *testing.T) {
		tok := token(t)
		apitest.Want[map[string]any](t, e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"role": "member"}), 200, "to member")
		if got := stored(t); len(got) != 0 {
			t.Fatalf("member service user holds %v", got)
		}
		if r := e.Do("GET", "/v1/users", tok, nil); r.Status != http.StatusForbidden {
			t.Fatalf("a member's token still reads users: %d", r.Status)
		}
		apitest.Want[map[string]any](t, e.Do("PATCH", "/v1/users/"+c.ID, owner, map[string]any{"role": "admin"}), 200, "to admin")
		if got := stored(t); !slices.Equal(got, []string{"users:read", "organization:read"}) {
			t.Fatalf("stored permissions back as admin %v", got)
		}
		if r := e.Do("GET", "/v1/users", tok, nil); r.Status != 200 {
			t.Fatalf("the regranted token cannot read users: %d", r.Status)
		}
		r := e.Do("POST", "/v1/users", tok, map[string]any{"email": "y@acme.example", "first_name": "X", "last_name": "Y", "role": "member"})
		r.Problem(t, http.StatusForbidden)
	})
	t.Run("a refreshed token keeps the cap", func(t *testing.T) {
		tk := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/token", "",
			map[string]string{"organization": "acme", "user_code": "bijst01", "password": c.Password}), 200, "token")
		next := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}), 200, "refresh")
		r := e.Do("POST", "/v1/users", next.AccessToken, map[string]any{"email": "z@acme.example", "first_name": "X", "last_name": "Y", "role": "member"})
		r.Problem(t, http.StatusForbidden)
	})
}
