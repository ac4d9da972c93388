package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/password"
	"github.com/guichet/guichet/shared/permission"
)

func TestPasswordHashing(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	t.Run("production parameters are at least OWASP's argon2id minimum", func(t *testing.T) {
		c, err := Parse(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Password != password.Default || c.Password.MemoryKiB < 19*1024 || c.Password.Time < 2 || c.Password.Threads < 1 {
			t.Fatalf("default hashing parameters %+v", c.Password)
		}
	})
	t.Run("PASSWORD_HASH raises the cost", func(t *testing.T) {
		c, err := Parse(env(map[string]string{"PASSWORD_HASH": "m=65536,t=3,p=2"}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Password.MemoryKiB != 65536 || c.Password.Time != 3 || c.Password.Threads != 2 {
			t.Fatalf("got %+v", c.Password)
		}
	})
	for _, v := range []string{"m=64,t=1,p=1", "m=19456,t=1,p=1", "fast"} {
		t.Run("PASSWORD_HASH "+v+" is refused", func(t *testing.T) {
			if _, err := Parse(env(map[string]string{"PASSWORD_HASH": v})); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestABadPermissionCatalogStopsTheStart(t *testing.T) {
	t.Parallel()
	good := `{"name": "projects:write", "description": {"en": "Change projects"}}`
	cases := []struct {
		name, app, member, clients string
		names                      string // what the message must name
	}{
		{"not JSON", `projects:write`, "", "", "APP_PERMISSIONS"},
		{"an unknown field", `[{"name": "projects:write", "description": {"en": "x"}, "scope": "all"}]`, "", "", "scope"},
		{"no action", `[{"name": "projects", "description": {"en": "x"}}]`, "", "", `"projects"`},
		{"upper case", `[{"name": "Projects:write", "description": {"en": "x"}}]`, "", "", `"Projects:write"`},
		{"a wildcard", `[{"name": "projects:*", "description": {"en": "x"}}]`, "", "", `"projects:*"`},
		{"three parts", `[{"name": "a:b:c", "description": {"en": "x"}}]`, "", "", `"a:b:c"`},
		{"one of Guichet's", `[` + good + `, {"name": "users:read", "description": {"en": "x"}}]`, "", "", `entry 2 ("users:read")`},
		{"a resource of Guichet's", `[{"name": "apikeys:write", "description": {"en": "x"}}]`, "", "", `"apikeys:write"`},
		{"twice", `[` + good + `,` + good + `]`, "", "", `entry 2 ("projects:write"): listed twice`},
		{"no English description", `[{"name": "projects:write", "description": {"fr": "Modifier"}}]`, "", "", `"projects:write"`},
		{"a language Guichet does not speak", `[{"name": "projects:write", "description": {"en": "x", "de": "y"}}]`, "", "", `"de"`},
		{"a member permission outside the catalog", `[` + good + `]`, "projects:read", "", `"projects:read"`},
		{"a member permission of Guichet's", `[` + good + `]`, "projects:write users:read", "", `"users:read"`},
		{"a client scope outside the catalog", `[` + good + `]`, "", `[{"id": "erp", "name": "ERP", "scopes": ["invoices:read"]}]`, `"invoices:read"`},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused, naming it", func(t *testing.T) {
			env := map[string]string{"APP_PERMISSIONS": tc.app, "MEMBER_PERMISSIONS": tc.member, "CLIENT_APPLICATIONS": tc.clients}
			_, err := Parse(func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("err %v, want it to name %s", err, tc.names)
			}
		})
	}
	t.Run("a good catalog, with member permissions as a list or JSON", func(t *testing.T) {
		for _, member := range []string{"projects:read, projects:write", `["projects:read", "projects:write"]`} {
			env := map[string]string{"APP_PERMISSIONS": `[` + good + `, {"name": "projects:read", "description": {"en": "See", "fr": "Voir", "nl": "Zien"}}]`,
				"MEMBER_PERMISSIONS": member, "CLIENT_APPLICATIONS": `[{"id": "erp", "name": "ERP", "scopes": ["projects:read"]}]`}
			c, err := Parse(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			got, _ := c.Permissions.BuiltIn(permission.RoleMember)
			if !slices.Equal(got, []permission.Permission{"projects:read", "projects:write"}) || !c.Permissions.Valid("projects:write") || c.Permissions.Valid("projects:delete") {
				t.Fatalf("member %v", got)
			}
		}
	})
	t.Run("no catalog: Guichet's alone, and the member role holds nothing", func(t *testing.T) {
		c, err := Parse(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		member, _ := c.Permissions.BuiltIn(permission.RoleMember)
		if len(member) != 0 || !slices.Equal(c.Permissions.All(), permission.Guichet()) {
			t.Fatalf("member %v, all %v", member, c.Permissions.All())
		}
	})
}

func TestOIDCClients(t *testing.T) {
	t.Parallel()
	app := `[{"name": "projects:read", "description": {"en": "See"}}]`
	t.Run("a client may ask for the application's permissions", func(t *testing.T) {
		env := map[string]string{"APP_PERMISSIONS": app,
			"OIDC_CLIENTS": `[{"id": "spa", "name": "SPA", "type": "spa", "redirect_uris": ["https://a.example/cb"], "scopes": ["openid", "projects:read"]}]`}
		c, err := Parse(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if !c.OIDCClients.ReturnTo("spa", "https://a.example/cb") {
			t.Fatalf("%+v", c.OIDCClients)
		}
	})
	t.Run("a wrong entry stops the start, naming the variable and the entry", func(t *testing.T) {
		env := map[string]string{"APP_PERMISSIONS": app,
			"OIDC_CLIENTS": `[{"id": "spa", "name": "SPA", "type": "spa", "redirect_uris": ["https://a.example/cb"], "scopes": ["projects:write"]}]`}
		_, err := Parse(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), `OIDC_CLIENTS`) || !strings.Contains(err.Error(), `entry 0 ("spa"): unknown scope "projects:write"`) {
			t.Fatalf("err %v", err)
		}
	})
}
