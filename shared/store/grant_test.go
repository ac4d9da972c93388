package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/store"
)

func TestARoleResolvesToWhatItGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.addRole(t, "Readers")
	e.bumpRole(t, r) // version 1, users:write
	cat, err := permission.NewCatalog([]permission.Entry{{Name: "projects:write", Description: map[string]string{"en": "Write projects"}}},
		[]permission.Permission{"projects:write"})
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := cat.BuiltIn(permission.RoleAdmin)

	t.Run("a built-in role grants its permissions at version 0", func(t *testing.T) {
		g, err := e.st.RoleGrant(bg, cat, e.org.ID, permission.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if !g.BuiltIn || g.Version != 0 || g.Role != permission.RoleAdmin || !slices.Equal(g.Permissions, permission.Strings(admin)) {
			t.Fatalf("admin resolved to %+v", g)
		}
	})
	t.Run("a custom role grants its stored permissions at their version", func(t *testing.T) {
		g, err := e.st.RoleGrant(bg, cat, e.org.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g.BuiltIn || g.Version != 1 || g.Name != "Readers" || !slices.Equal(g.Permissions, []string{"users:write"}) {
			t.Fatalf("custom role resolved to %+v", g)
		}
	})
	t.Run("the member role grants the catalog's member permissions", func(t *testing.T) {
		g, err := e.st.RoleGrant(bg, cat, e.org.ID, permission.RoleMember)
		if err != nil || !slices.Equal(g.Permissions, []string{"projects:write"}) {
			t.Fatalf("member resolved to %+v, %v", g, err)
		}
	})
	t.Run("a permission the catalog no longer holds is not granted", func(t *testing.T) {
		g, err := e.st.RoleGrant(bg, permission.Catalog{}, e.org.ID, permission.RoleAdmin)
		if err != nil || slices.Contains(g.Permissions, "projects:write") {
			t.Fatalf("admin without the application's permissions resolved to %+v, %v", g, err)
		}
	})
	t.Run("an unknown role, another organization's and none are not found", func(t *testing.T) {
		for _, tc := range []struct{ org, role string }{{e.org.ID, "rol_unknown"}, {"org_other", r.ID}, {e.org.ID, ""}} {
			if g, err := e.st.RoleGrant(bg, cat, tc.org, tc.role); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s in %s: %+v, %v; want ErrNotFound", tc.role, tc.org, g, err)
			}
		}
	})
	t.Run("roles already read resolve the same", func(t *testing.T) {
		read, err := e.st.GetRole(bg, e.org.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string]store.Role{r.ID: read}
		stored, _ := e.st.RoleGrant(bg, cat, e.org.ID, r.ID)
		if g, ok := store.GrantFrom(cat, r.ID, roles); !ok || !slices.Equal(g.Permissions, stored.Permissions) || g.Version != stored.Version {
			t.Fatalf("from the roles read: %+v, %v; stored: %+v", g, ok, stored)
		}
		if g, ok := store.GrantFrom(cat, permission.RoleMember, roles); !ok || !g.BuiltIn {
			t.Fatalf("member from the roles read: %+v, %v", g, ok)
		}
		if _, ok := store.GrantFrom(cat, "rol_unknown", roles); ok {
			t.Fatal("an unknown role resolved")
		}
	})
	t.Run("a service user gets its client's scopes only, a person all", func(t *testing.T) {
		g, _ := e.st.RoleGrant(bg, cat, e.org.ID, permission.RoleAdmin)
		svc := store.User{Kind: store.Service, Client: "bijster"}
		if got := g.For(svc, clients.Default(cat)); !slices.Equal(got, []string{"users:read", "organization:read"}) {
			t.Fatalf("service user of bijster: %v", got)
		}
		person := e.person("p@acme.example", permission.RoleAdmin)
		got := g.For(person, clients.Default(cat))
		if !slices.Equal(got, g.Permissions) {
			t.Fatalf("person: %v", got)
		}
		got[0] = "changed"
		if g.Permissions[0] == "changed" {
			t.Fatal("For shares the grant's list")
		}
	})
}
