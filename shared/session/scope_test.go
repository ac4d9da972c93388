package session

import "testing"

func TestScopeIsEachPermissionOnceSorted(t *testing.T) {
	for _, c := range []struct {
		perms []string
		want  string
	}{
		{nil, ""},
		{[]string{"users:read"}, "users:read"},
		{[]string{"users:write", "projects:read", "users:write", "audit:read"}, "audit:read projects:read users:write"},
	} {
		if got := scope(c.perms); got != c.want {
			t.Errorf("scope(%q) = %q, want %q", c.perms, got, c.want)
		}
	}
}
