package clients_test

import (
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/permission"
)

func TestCapKeepsOnlyTheClientsScopes(t *testing.T) {
	t.Parallel()
	all := permission.Strings(permission.Guichet())
	c := clients.Default(permission.Catalog{})
	cases := []struct {
		name, client string
		perms, want  []string
	}{
		{"an admin of a read-only client keeps the reads", "bijster", all, []string{"users:read", "organization:read"}},
		{"a role's permissions outside the client's go", "comax", []string{"users:write", "audit:read"}, []string{"users:write"}},
		{"a member keeps nothing", "comax", []string{}, []string{}},
		{"an unknown client grants nothing", "nope", all, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Cap(tc.client, tc.perms); !slices.Equal(got, tc.want) {
				t.Fatalf("%v, want %v", got, tc.want)
			}
		})
	}
}
