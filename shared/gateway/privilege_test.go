package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/route"
)

// TestEveryAuthorizedRouteRefusesWhomItMust runs every authorized route
// as a member, as an API key without the route's scope, as the owner of
// another organization on this one's ids, and as a service user on the
// routes for persons: each is refused.
func TestEveryAuthorizedRouteRefusesWhomItMust(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	user := created(t, e, owner, "/v1/users", map[string]any{"email": "target@example.com", "first_name": "T", "last_name": "G", "role": "member"})
	pin := created(t, e, owner, "/v1/users", map[string]any{"username": "kiosk", "password": "481937", "first_name": "K", "last_name": "K", "role": "member"})
	svc := created(t, e, owner, "/v1/users", map[string]any{"kind": "service", "user_code": "SVC0001", "client": "internal", "role": "admin", "all_units": true})
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Clerks", "permissions": []string{"users:read"}})
	unit := created(t, e, owner, "/v1/organization/units", map[string]any{"name": "HQ", "kind": "site"})
	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "invitee@example.com", "role": "member"})
	key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "Reader", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"organization:read"}})
	var sessions struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Do("GET", "/v1/me/sessions", owner, nil).Decode(t, &sessions)
	var svcTok apitest.Tokens
	e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": "SVC0001", "password": svc["password"].(string)}).Decode(t, &svcTok)
	if _, _, err := e.Seed(context.Background(), "Other", "other", "boss@other.example", "other-password-123"); err != nil {
		t.Fatal(err)
	}
	other := e.Login(t, "boss@other.example", "other-password-123").AccessToken

	id := func(v map[string]any) string { return v["id"].(string) }
	// Real ids of this organization, by the path before {id}.
	ids := map[string]string{
		"/v1/users/": id(user), "/v1/roles/": id(role), "/v1/organization/units/": id(unit),
		"/v1/invitations/": id(inv), "/v1/me/api-keys/": id(key), "/v1/api-keys/": id(key),
		"/v1/me/sessions/": sessions.Items[0].ID,
	}
	special := map[string]string{"/v1/users/{id}/password": id(pin), "/v1/users/{id}/letter": id(svc)}
	bodies := map[string]string{
		"/v1/users/{id}/status": `{"status":"inactive"}`, "/v1/users/{id}/password": `{"password":"592846"}`,
		"/v1/users/{id}": `{"first_name":"X"}`, "/v1/roles/{id}": `{"name":"Renamed"}`,
		"/v1/organization/units/{id}": `{"name":"X"}`, "/v1/users/{id}/password-reset": `{"send_email":false}`,
	}
	concreteOf := func(rt route.Route) string {
		before, after, ok := strings.Cut(rt.Path, "{id}")
		if !ok {
			return rt.Path
		}
		v, ok := special[rt.Path]
		if !ok {
			v = ids[before]
		}
		if v == "" {
			t.Fatalf("no id for %s", rt.Path)
		}
		return before + v + after
	}
	bodyOf := func(rt route.Route) string {
		if b, ok := bodies[rt.Path]; ok {
			return b
		}
		return "{}"
	}
	scopes := []permission.Permission{permission.OrganizationRead}
	for _, rt := range route.All() {
		if rt.Public {
			continue
		}
		path, body := concreteOf(rt), bodyOf(rt)
		if rt.Permission != "" {
			t.Run(rt.Key()+" refuses a member", func(t *testing.T) {
				e.Do(rt.Method, path, member, body).Problem(t, http.StatusForbidden)
			})
		}
		if rt.Permission != "" && !slices.Contains(scopes, rt.Permission) {
			t.Run(rt.Key()+" refuses a key without its scope", func(t *testing.T) {
				e.Do(rt.Method, path, key["key"].(string), body).Problem(t, http.StatusForbidden)
			})
		}
		if strings.Contains(rt.Path, "{id}") {
			t.Run(rt.Key()+" does not find this organization's ids for another one", func(t *testing.T) {
				e.Do(rt.Method, path, other, body).Problem(t, http.StatusNotFound)
			})
		}
		if rt.People {
			t.Run(rt.Key()+" refuses a service user", func(t *testing.T) {
				if p := e.Do(rt.Method, path, svcTok.AccessToken, body).Problem(t, http.StatusForbidden); p.Code != "service_user" {
					t.Fatal(p.Code)
				}
			})
		}
	}
}

// TestEachRouteTakesTheCredentialsItsSecuritySays holds the route table's
// Session flag, which the description's security requirements follow, to
// what the handlers do: with an API key holding every permission (but
// users:export, which its client may not have), a
// session-only route refuses it, and every other authorized route does not.
func TestEachRouteTakesTheCredentialsItsSecuritySays(t *testing.T) {
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	var scopes []permission.Permission
	for _, p := range e.Config.Permissions.All() {
		if p != permission.UsersExport { // not allowed to the internal client
			scopes = append(scopes, p)
		}
	}
	key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "All", "client": "internal", "current_password": apitest.OwnerPassword,
		"scopes": permission.Strings(scopes)})["key"].(string)
	refusals := []string{"session_required", "not_a_session", "forbidden"}
	// Bodies valid enough to reach the check of the credential.
	bodies := map[string]string{
		"/v1/me/password": `{"current_password":"` + apitest.OwnerPassword + `","new_password":"another-password-42"}`,
		"/v1/me/email":    `{"new_email":"new.owner@example.com","password":"` + apitest.OwnerPassword + `"}`,
	}
	for _, rt := range route.All() {
		if rt.Public {
			continue
		}
		t.Run(rt.Key(), func(t *testing.T) {
			body, ok := bodies[rt.Path]
			if !ok {
				body = "{}"
			}
			r := e.Do(rt.Method, concrete(rt.Path), key, body)
			var p struct{ Code string }
			if r.Status >= 400 {
				r.Decode(t, &p)
			}
			refused := r.Status >= 400 && r.Status < 500 && slices.Contains(refusals, p.Code)
			if rt.SessionOnly() != refused {
				t.Fatalf("session-only %v, but an API key gets %d %s", rt.SessionOnly(), r.Status, p.Code)
			}
		})
	}
}

// TestEveryUserRouteKeepsAUnitLimitedRoleInItsUnits runs every route
// that acts on one user (and the revocation of a user's API key) as a
// caller whose role is limited to its units: on a user of another unit it
// answers 404, as for no user; on a user of a child unit of the caller's
// it does what the route does.
func TestEveryUserRouteKeepsAUnitLimitedRoleInItsUnits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)
	_, mgr := limitedAdmin(t, e, owner, "manager@acme.example", map[string]any{"units": []string{u.estA}})
	inside, outside := map[string]any{"units": []string{u.siteA}}, map[string]any{"units": []string{u.estB}}
	n := 0
	// target makes a fresh user of the kind the route acts on, with units,
	// and returns the id the route takes.
	inviters := created(t, e, owner, "/v1/roles", map[string]any{"name": "Inviters", "permissions": []string{"invitations:write"}})["id"].(string)
	target := func(t *testing.T, rt route.Route, units map[string]any) string {
		n++
		name := fmt.Sprintf("target%d", n)
		switch rt.Path {
		case "/v1/users/{id}/password":
			return person(t, e, owner, name, units)
		case "/v1/users/{id}/letter":
			body := map[string]any{"kind": "service", "user_code": fmt.Sprintf("SVC%04d", n), "client": "internal", "role": "member"}
			for k, v := range units {
				body[k] = v
			}
			return created(t, e, owner, "/v1/users", body)["id"].(string)
		}
		role := "member"
		if rt.Path == "/v1/api-keys/{id}" {
			role = inviters // a key needs a scope of its holder's role
		}
		usr := e.AddUser(t, name+"@acme.example", role)
		body := map[string]any{"all_units": false}
		for k, v := range units {
			body[k] = v
		}
		e.Do("PATCH", "/v1/users/"+usr.ID, owner, body).Object(t, http.StatusOK)
		if rt.Path == "/v1/api-keys/{id}" {
			tok := e.Login(t, usr.Email, apitest.UserPassword).AccessToken
			return created(t, e, tok, "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal",
				"current_password": apitest.UserPassword, "scopes": []string{"invitations:write"}})["id"].(string)
		}
		return usr.ID
	}
	bodies := map[string]string{
		"/v1/users/{id}/status": `{"status":"inactive"}`, "/v1/users/{id}/password": `{"password":"592846"}`,
		"/v1/users/{id}": `{"first_name":"X"}`, "/v1/users/{id}/password-reset": `{"send_email":false}`,
	}
	tested := 0
	for _, rt := range route.All() {
		if !strings.HasPrefix(rt.Path, "/v1/users/{id}") && rt.Path != "/v1/api-keys/{id}" {
			continue
		}
		tested++
		body, ok := bodies[rt.Path]
		if !ok {
			body = "{}"
		}
		t.Run(rt.Key(), func(t *testing.T) {
			out := strings.Replace(rt.Path, "{id}", target(t, rt, outside), 1)
			before := e.Scan(t)
			e.Do(rt.Method, out, mgr, body).Problem(t, http.StatusNotFound)
			if after := e.Scan(t); !slices.Equal(before, after) {
				t.Fatal("a refused request wrote")
			}
			in := strings.Replace(rt.Path, "{id}", target(t, rt, inside), 1)
			r := e.Do(rt.Method, in, mgr, body)
			// mfa-reset of a user without MFA: 409 mfa_off, past the check.
			if r.Status >= 300 && !(rt.Path == "/v1/users/{id}/mfa-reset" && r.Status == http.StatusConflict) {
				t.Fatalf("inside: %d %s", r.Status, r.Body)
			}
		})
	}
	if tested < 9 {
		t.Fatalf("%d routes act on a user", tested)
	}
}
