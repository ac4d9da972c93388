package store_test

import (
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/store"
)

// TestARegrantKeepsAClientsLimit: a role change gives a session's access
// token the new role's permissions, but a token limited to its client's
// scopes keeps only those among them.
func TestARegrantKeepsAClientsLimit(t *testing.T) {
	full := store.Credential{Kind: store.AccessToken}
	limited := store.Credential{Kind: store.AccessToken, Limited: true, OIDCScopes: store.Perms{"openid", "users:read", "projects:read"}}
	got := store.Regrant([]store.Credential{full, limited}, "rol_new", []string{"users:read", "users:write"})
	if len(got) != 2 {
		t.Fatalf("%d credentials regranted", len(got))
	}
	if !slices.Equal(got[0].Permissions, []string{"users:read", "users:write"}) {
		t.Fatalf("full token: %v", got[0].Permissions)
	}
	if !slices.Equal(got[1].Permissions, []string{"users:read"}) || got[1].Role != "rol_new" {
		t.Fatalf("limited token: %v %s", got[1].Permissions, got[1].Role)
	}
}
