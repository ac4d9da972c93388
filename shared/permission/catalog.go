package permission

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/language"
)

// Sources of a catalog's permissions.
const (
	SourceGuichet     = "guichet"
	SourceApplication = "application"
)

// Entry is a permission of the catalog with its description by language.
type Entry struct {
	Name        Permission        `json:"name"`
	Description map[string]string `json:"description"`
	// Source is SourceGuichet or SourceApplication.
	Source string `json:"-"`
}

// Describe returns the entry's description in lang, else in English.
func (e Entry) Describe(lang string) string {
	if d, ok := e.Description[lang]; ok && d != "" {
		return d
	}
	return e.Description[language.Fallback]
}

// guichetEntries describe Guichet's own permissions.
func guichetEntries() []Entry {
	return []Entry{
		{UsersRead, map[string]string{"en": "See the organization's users and roles", "fr": "Voir les utilisateurs et les rôles de l'organisation", "nl": "De gebruikers en rollen van de organisatie bekijken"}, SourceGuichet},
		{UsersWrite, map[string]string{"en": "Add, change and remove users", "fr": "Ajouter, modifier et supprimer des utilisateurs", "nl": "Gebruikers toevoegen, wijzigen en verwijderen"}, SourceGuichet},
		{RolesWrite, map[string]string{"en": "Add, change and delete custom roles", "fr": "Ajouter, modifier et supprimer des rôles personnalisés", "nl": "Eigen rollen toevoegen, wijzigen en verwijderen"}, SourceGuichet},
		{InvitationsWrite, map[string]string{"en": "Invite people and revoke invitations", "fr": "Inviter des personnes et révoquer des invitations", "nl": "Mensen uitnodigen en uitnodigingen intrekken"}, SourceGuichet},
		{OrganizationRead, map[string]string{"en": "See the organization's settings and units", "fr": "Voir les paramètres et les unités de l'organisation", "nl": "De instellingen en eenheden van de organisatie bekijken"}, SourceGuichet},
		{OrganizationWrite, map[string]string{"en": "Change the organization's settings and units", "fr": "Modifier les paramètres et les unités de l'organisation", "nl": "De instellingen en eenheden van de organisatie wijzigen"}, SourceGuichet},
		{APIKeysRead, map[string]string{"en": "See every API key of the organization", "fr": "Voir toutes les clés d'API de l'organisation", "nl": "Alle API-sleutels van de organisatie bekijken"}, SourceGuichet},
		{AuditRead, map[string]string{"en": "Read the organization's audit trail", "fr": "Consulter le journal d'audit de l'organisation", "nl": "Het auditlogboek van de organisatie raadplegen"}, SourceGuichet},
		{UsersExport, map[string]string{"en": "Export users with their password hashes", "fr": "Exporter les utilisateurs avec leurs empreintes de mot de passe", "nl": "Gebruikers exporteren met hun wachtwoordhashes"}, SourceGuichet},
	}
}

// Catalog is a deployment's permissions: Guichet's own and the
// application's (APP_PERMISSIONS), and those the built-in member role
// holds (MEMBER_PERMISSIONS). The zero Catalog holds Guichet's alone.
type Catalog struct {
	app    []Entry
	member []Permission
}

// Limits of an application's catalog.
const (
	maxApp         = 200
	maxName        = 64
	maxDescription = 300
)

// NewCatalog checks the application's permissions and the member role's
// and returns the catalog; the error names the entry at fault.
func NewCatalog(app []Entry, member []Permission) (Catalog, error) {
	if len(app) > maxApp {
		return Catalog{}, fmt.Errorf("%d application permissions, at most %d", len(app), maxApp)
	}
	seen := map[Permission]bool{}
	for i, e := range app {
		if err := checkEntry(e); err != nil {
			return Catalog{}, fmt.Errorf("entry %d (%q): %w", i+1, e.Name, err)
		}
		if seen[e.Name] {
			return Catalog{}, fmt.Errorf("entry %d (%q): listed twice", i+1, e.Name)
		}
		seen[e.Name] = true
	}
	c := Catalog{app: slices.Clone(app)}
	for i := range c.app {
		c.app[i].Source = SourceApplication
	}
	for _, p := range member {
		if !seen[p] {
			return Catalog{}, fmt.Errorf("%q: not an application permission of the catalog (APP_PERMISSIONS)", p)
		}
		if !slices.Contains(c.member, p) {
			c.member = append(c.member, p)
		}
	}
	return c, nil
}

// ParseEntries reads the application's permissions from JSON
// [{name, description: {en, fr, nl}}] (APP_PERMISSIONS); empty is none.
// NewCatalog checks them.
func ParseEntries(s string) ([]Entry, error) {
	var entries []Entry
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("want JSON [{\"name\": \"projects:write\", \"description\": {\"en\": \"…\"}}]: %w", err)
	}
	return entries, nil
}

// ParseNames reads permission names from a JSON array or a list
// separated by spaces or commas (MEMBER_PERMISSIONS).
func ParseNames(s string) ([]Permission, error) {
	var names []Permission
	if s = strings.TrimSpace(s); strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &names); err != nil {
			return nil, fmt.Errorf("want a JSON array of names or a list: %w", err)
		}
		return names, nil
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		names = append(names, Permission(f))
	}
	return names, nil
}

// checkEntry checks one application permission.
func checkEntry(e Entry) error {
	if err := checkName(string(e.Name)); err != nil {
		return err
	}
	if strings.TrimSpace(e.Description[language.Fallback]) == "" {
		return fmt.Errorf("an English description (%q) is required", language.Fallback)
	}
	for lang, d := range e.Description {
		switch {
		case !language.Valid(lang):
			return fmt.Errorf("description in %q: not a supported language (%s)", lang, strings.Join(language.Supported(), ", "))
		case len(d) > maxDescription:
			return fmt.Errorf("description in %q: longer than %d bytes", lang, maxDescription)
		}
	}
	return nil
}

// checkName checks the grammar of an application permission,
// resource:action, each part a lower-case letter then lower-case letters,
// digits, '-' or '_', and that it names none of Guichet's resources.
func checkName(name string) error {
	if len(name) > maxName {
		return fmt.Errorf("name longer than %d characters", maxName)
	}
	resource, action, ok := strings.Cut(name, ":")
	if !ok || !word(resource) || !word(action) {
		return fmt.Errorf("name must be resource:action, lower-case letters, digits, '-' and '_', each part starting with a letter (such as projects:write)")
	}
	for _, g := range Guichet() {
		if r, _, _ := strings.Cut(string(g), ":"); r == resource {
			return fmt.Errorf("%q is a resource of Guichet's own permissions", resource)
		}
	}
	return nil
}

func word(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// All returns every permission of the catalog, Guichet's first.
func (c Catalog) All() []Permission {
	out := Guichet()
	for _, e := range c.app {
		out = append(out, e.Name)
	}
	return out
}

// Application returns the application's permissions.
func (c Catalog) Application() []Permission {
	out := make([]Permission, len(c.app))
	for i, e := range c.app {
		out[i] = e.Name
	}
	return out
}

// Source returns where p comes from (SourceGuichet or SourceApplication)
// and whether the catalog holds it.
func (c Catalog) Source(p Permission) (string, bool) {
	if slices.Contains(Guichet(), p) {
		return SourceGuichet, true
	}
	if slices.ContainsFunc(c.app, func(e Entry) bool { return e.Name == p }) {
		return SourceApplication, true
	}
	return "", false
}

// Valid reports whether p is in the catalog.
func (c Catalog) Valid(p Permission) bool {
	_, ok := c.Source(p)
	return ok
}

// Entries returns every permission with its description, Guichet's first.
func (c Catalog) Entries() []Entry {
	return append(guichetEntries(), c.app...)
}

// BuiltIn returns the permissions of a built-in role and whether id names
// one. Owner and admin hold the whole catalog (ownership itself is not a
// permission: it is the role); member holds the member permissions the
// deployment names (none by default) beyond its own profile.
func (c Catalog) BuiltIn(id string) ([]Permission, bool) {
	switch id {
	case RoleOwner, RoleAdmin:
		return c.All(), true
	case RoleMember:
		return append([]Permission{}, c.member...), true
	}
	return nil, false
}

// Known returns the permissions of perms the catalog holds, in their
// order: a permission removed from the catalog is inert where it is
// still stored (roles, users, credentials) and grants nothing.
func (c Catalog) Known(perms []string) []string {
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		if c.Valid(Permission(p)) {
			out = append(out, p)
		}
	}
	return out
}

// Unknown returns the permissions of perms the catalog does not hold; nil
// when there is none.
func (c Catalog) Unknown(perms []string) []string {
	var out []string
	for _, p := range perms {
		if !c.Valid(Permission(p)) {
			out = append(out, p)
		}
	}
	return out
}
