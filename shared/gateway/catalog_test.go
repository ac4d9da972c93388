package gateway_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/principal"
)

// appCatalog is a deployment's APP_PERMISSIONS.
const appCatalog = `[
 {"name": "projects:read", "description": {"en": "See projects", "fr": "Voir les projets", "nl": "Projecten bekijken"}},
 {"name": "projects:write", "description": {"en": "Create and change projects", "fr": "Créer et modifier des projets"}},
 {"name": "invoices:read", "description": {"en": "See invoices"}}]`

// appClients is its CLIENT_APPLICATIONS: an ERP reading users and
// invoices, a viewer of projects.
const appClients = `[
 {"id": "erp", "name": "ERP", "scopes": ["users:read", "invoices:read"]},
 {"id": "viewer", "name": "Viewer", "scopes": ["projects:read"]}]`

// deployed configures a stack as the environment would: APP_PERMISSIONS,
// MEMBER_PERMISSIONS and CLIENT_APPLICATIONS read by config.Parse.
func deployed(t *testing.T, app, member, clients string) apitest.Option {
	t.Helper()
	env := map[string]string{"APP_PERMISSIONS": app, "MEMBER_PERMISSIONS": member, "CLIENT_APPLICATIONS": clients}
	c, err := config.Parse(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return func(cfg *config.Config) { cfg.Permissions, cfg.Clients = c.Permissions, c.Clients }
}

// granted is what the authorizer gives the bearer of tok: the
// permissions of its principal, as every function (and the application's
// routes) receives them.
func granted(t *testing.T, e *apitest.Env, tok string) []string {
	t.Helper()
	res, err := e.Authorizer(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
		Headers: map[string]string{"authorization": "Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	p, reason, ok := principal.Decode(res.Context)
	if !ok {
		t.Fatalf("not authenticated: %s", reason)
	}
	out := []string{}
	for _, x := range p.Permissions {
		out = append(out, string(x))
	}
	return out
}

func holds(t *testing.T, e *apitest.Env, tok string, want, not []string) {
	t.Helper()
	got := granted(t, e, tok)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s missing from %v", w, got)
		}
	}
	for _, n := range not {
		if slices.Contains(got, n) {
			t.Errorf("%s granted: %v", n, got)
		}
	}
}

func fieldErrorNames(t *testing.T, r *apitest.Response, status int, code, name string) {
	t.Helper()
	p := r.Problem(t, status)
	if p.Code != code || !strings.Contains(string(r.Body), name) {
		t.Fatalf("want %s naming %s: %s", code, name, r.Body)
	}
}

func TestTheApplicationsPermissionsAreOneCatalogWithGuichets(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, deployed(t, appCatalog, "projects:read", appClients))
	owner := e.LoginOwner(t).AccessToken

	t.Run("owner and admin hold Guichet's permissions and the application's", func(t *testing.T) {
		_, admin := e.AddUserLogin(t, "admin@acme.example", "admin")
		for _, tok := range []string{owner, admin} {
			holds(t, e, tok, []string{"users:write", "projects:read", "projects:write", "invoices:read"}, nil)
		}
	})
	t.Run("a member holds MEMBER_PERMISSIONS and nothing else", func(t *testing.T) {
		_, member := e.AddUserLogin(t, "member@acme.example", "member")
		if got := granted(t, e, member); !slices.Equal(got, []string{"projects:read"}) {
			t.Fatalf("member holds %v", got)
		}
	})
	var cadre string
	t.Run("a custom role grants an application permission", func(t *testing.T) {
		role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Cadre", "permissions": []string{"projects:write", "roles:write"}})
		cadre = role["id"].(string)
		_, tok := e.AddUserLogin(t, "cadre@acme.example", cadre)
		holds(t, e, tok, []string{"projects:write", "roles:write"}, []string{"projects:read", "invoices:read"})
		t.Run("and its holder cannot give what it lacks", func(t *testing.T) {
			r := e.Do("POST", "/v1/roles", tok, map[string]any{"name": "Billing", "permissions": []string{"invoices:read"}})
			if p := r.Problem(t, http.StatusForbidden); p.Code != "permission_escalation" || !strings.Contains(p.Detail, "invoices:read") {
				t.Fatalf("%s", r.Body)
			}
			created(t, e, tok, "/v1/roles", map[string]any{"name": "Planners", "permissions": []string{"projects:write"}})
		})
	})
	t.Run("a permission outside the catalog is refused, naming it", func(t *testing.T) {
		for _, perm := range []string{"projects:delete", "users:*", "Projects:write"} {
			r := e.Do("POST", "/v1/roles", owner, map[string]any{"name": "Bad " + perm, "permissions": []string{perm}})
			fieldErrorNames(t, r, http.StatusUnprocessableEntity, "validation_failed", perm)
		}
	})
	t.Run("an API key carries an application scope within its client's", func(t *testing.T) {
		key := func(tok string, scopes ...string) *apitest.Response {
			return e.Do("POST", "/v1/me/api-keys", tok, map[string]any{"name": "ERP", "client": "erp",
				"current_password": apitest.OwnerPassword, "scopes": scopes})
		}
		k := apitest.Want[map[string]any](t, key(owner, "invoices:read"), http.StatusCreated, "key")
		if got := granted(t, e, k["key"].(string)); !slices.Equal(got, []string{"invoices:read"}) {
			t.Fatalf("key grants %v", got)
		}
		fieldErrorNames(t, key(owner, "projects:write"), http.StatusUnprocessableEntity, "validation_failed", "projects:write")
		// The cadre holds no invoices:read: its key may not either.
		cadreTok := e.Login(t, "cadre@acme.example", apitest.UserPassword).AccessToken
		r := e.Do("POST", "/v1/me/api-keys", cadreTok, map[string]any{"name": "ERP", "client": "erp",
			"current_password": apitest.UserPassword, "scopes": []string{"invoices:read"}})
		if p := r.Problem(t, http.StatusForbidden); p.Code != "scope_escalation" {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("a service user holds its role's within its client's scopes", func(t *testing.T) {
		svc := created(t, e, owner, "/v1/users", map[string]any{"kind": "service", "user_code": "VIEW01", "client": "viewer", "role": "admin", "all_units": true})
		tk := apitest.Want[apitest.Tokens](t, e.Do("POST", "/v1/auth/token", "",
			map[string]string{"organization": "acme", "user_code": "VIEW01", "password": svc["password"].(string)}), 200, "token")
		if got := granted(t, e, tk.AccessToken); !slices.Equal(got, []string{"projects:read"}) {
			t.Fatalf("service user holds %v", got)
		}
	})
	t.Run("GET /v1/permissions lists the catalog in the caller's language", func(t *testing.T) {
		type list struct {
			Language string `json:"language"`
			Items    []struct {
				Name, Description, Source string
			} `json:"items"`
		}
		_, member := e.AddUserLogin(t, "reader@acme.example", "member")
		fr := apitest.Want[list](t, e.DoHeader("GET", "/v1/permissions", map[string]string{
			"Authorization": "Bearer " + member, "Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"}, nil), 200, "fr")
		en := apitest.Want[list](t, e.Do("GET", "/v1/permissions", member, nil), 200, "en")
		if fr.Language != "fr" || en.Language != "en" || len(fr.Items) != len(en.Items) {
			t.Fatalf("fr %s (%d), en %s (%d)", fr.Language, len(fr.Items), en.Language, len(en.Items))
		}
		want := map[string][3]string{
			"users:read":     {"guichet", "Voir les utilisateurs et les rôles de l'organisation", "See the organization's users and roles"},
			"projects:write": {"application", "Créer et modifier des projets", "Create and change projects"},
			"invoices:read":  {"application", "See invoices", "See invoices"}, // no French: English
		}
		for i, it := range fr.Items {
			if w, ok := want[it.Name]; ok {
				if it.Source != w[0] || it.Description != w[1] || en.Items[i].Description != w[2] {
					t.Errorf("%s: %s %q / %q", it.Name, it.Source, it.Description, en.Items[i].Description)
				}
				delete(want, it.Name)
			}
		}
		if len(want) > 0 || len(fr.Items) != 12 {
			t.Fatalf("missing %v among %d", want, len(fr.Items))
		}
	})
}

func TestAPermissionRemovedFromTheCatalogIsInert(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, deployed(t, appCatalog, "", appClients))
	owner := e.LoginOwner(t).AccessToken
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Cadre", "permissions": []string{"projects:read", "projects:write", "users:read"}})
	id := role["id"].(string)
	holder, before := e.AddUserLogin(t, "cadre@acme.example", id)
	_, admin := e.AddUserLogin(t, "admin@acme.example", "admin")
	key := apitest.Want[map[string]any](t, e.Do("POST", "/v1/me/api-keys", owner, map[string]any{"name": "ERP", "client": "erp",
		"current_password": apitest.OwnerPassword, "scopes": []string{"users:read", "invoices:read"}}), http.StatusCreated, "key")["key"].(string)
	holds(t, e, before, []string{"projects:write"}, nil)

	// The deployment drops projects:write and invoices:read (and the
	// ERP's scope with it).
	smaller := `[{"name": "projects:read", "description": {"en": "See projects"}}]`
	e = e.Restart(t, deployed(t, smaller, "", `[{"id": "erp", "name": "ERP", "scopes": ["users:read"]}]`))
	owner = e.LoginOwner(t).AccessToken

	t.Run("a live session and a new one no longer get it", func(t *testing.T) {
		holds(t, e, before, []string{"projects:read", "users:read"}, []string{"projects:write"})
		after := e.Login(t, "cadre@acme.example", apitest.UserPassword).AccessToken
		holds(t, e, after, []string{"projects:read", "users:read"}, []string{"projects:write"})
		holds(t, e, owner, []string{"projects:read"}, []string{"projects:write", "invoices:read"})
	})
	t.Run("a key keeps working with its other scopes", func(t *testing.T) {
		if got := granted(t, e, key); !slices.Equal(got, []string{"users:read"}) {
			t.Fatalf("key grants %v", got)
		}
		if r := e.Do("GET", "/v1/users", key, nil); r.Status != 200 {
			t.Fatalf("GET /v1/users with the key: %d %s", r.Status, r.Body)
		}
		var keys struct {
			Items []struct {
				Scopes        []string `json:"scopes"`
				UnknownScopes []string `json:"unknown_scopes"`
			} `json:"items"`
		}
		e.Do("GET", "/v1/me/api-keys", owner, nil).Decode(t, &keys)
		if len(keys.Items) != 1 || !slices.Equal(keys.Items[0].UnknownScopes, []string{"invoices:read"}) || len(keys.Items[0].Scopes) != 2 {
			t.Fatalf("keys %+v", keys.Items)
		}
	})
	t.Run("the role lists it as unknown", func(t *testing.T) {
		var roles struct {
			Items []struct {
				ID                 string   `json:"id"`
				Permissions        []string `json:"permissions"`
				UnknownPermissions []string `json:"unknown_permissions"`
			} `json:"items"`
		}
		e.Do("GET", "/v1/roles", owner, nil).Decode(t, &roles)
		i := slices.IndexFunc(roles.Items, func(r struct {
			ID                 string   `json:"id"`
			Permissions        []string `json:"permissions"`
			UnknownPermissions []string `json:"unknown_permissions"`
		}) bool {
			return r.ID == id
		})
		if i < 0 || !slices.Equal(roles.Items[i].UnknownPermissions, []string{"projects:write"}) || !slices.Contains(roles.Items[i].Permissions, "projects:write") {
			t.Fatalf("roles %+v", roles.Items)
		}
	})
	t.Run("a PATCH keeping it is not refused; one adding a removed one is", func(t *testing.T) {
		r := apitest.Want[map[string]any](t, e.Do("PATCH", "/v1/roles/"+id, owner, map[string]any{"name": "Cadres",
			"permissions": []string{"projects:read", "projects:write", "users:read"}}), 200, "patch keeping it")
		if r["name"] != "Cadres" || !strings.Contains(strings.Join(anyStrings(r["unknown_permissions"]), " "), "projects:write") {
			t.Fatalf("%v", r)
		}
		fieldErrorNames(t, e.Do("PATCH", "/v1/roles/"+id, owner, map[string]any{"permissions": []string{"projects:write", "invoices:read"}}),
			http.StatusUnprocessableEntity, "validation_failed", "invoices:read")
	})
	t.Run("an admin still acts on its holder: nobody holds an inert permission", func(t *testing.T) {
		apitest.Want[map[string]any](t, e.Do("PATCH", "/v1/users/"+holder.ID, admin, map[string]any{"first_name": "Renamed"}), 200, "admin edits the holder")
	})
	t.Run("a client application naming it stops the start", func(t *testing.T) {
		env := map[string]string{"APP_PERMISSIONS": smaller, "CLIENT_APPLICATIONS": appClients}
		_, err := config.Parse(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "invoices:read") {
			t.Fatalf("err %v", err)
		}
	})
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
