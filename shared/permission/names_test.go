package permission_test

import (
	"testing"

	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/permission"
)

func TestEveryBuiltInRoleIsNamedInEveryLanguage(t *testing.T) {
	t.Parallel()
	for _, role := range []string{permission.RoleOwner, permission.RoleAdmin, permission.RoleMember} {
		seen := map[string]bool{}
		for _, lang := range language.Supported() {
			name, ok := permission.BuiltInName(role, lang)
			if !ok || name == "" || name == role {
				t.Errorf("%s in %s: %q", role, lang, name)
			}
			seen[name] = true
		}
		if len(seen) < 2 {
			t.Errorf("%s has one name in every language", role)
		}
	}
	if n, ok := permission.BuiltInName(permission.RoleMember, "de"); !ok || n != "Member" {
		t.Errorf("a language without names falls back to English: %q", n)
	}
	if _, ok := permission.BuiltInName("rol_custom", "en"); ok {
		t.Error("a custom role has a built-in name")
	}
}
