// Package clients is the catalog of client applications: the software
// integrators connect with (their API keys and service users name one), each
// with the scopes it may ask for.
package clients

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/guichet/guichet/shared/permission"
)

// Client is a client application.
type Client struct {
	ID     string                  `json:"id"`
	Name   string                  `json:"name"`
	Scopes []permission.Permission `json:"scopes"`
}

// Catalog is the list of client applications of a deployment.
type Catalog []Client

// Default is the catalog used when the configuration names none; its
// internal integration may ask for every permission of perms but
// users:export.
func Default(perms permission.Catalog) Catalog {
	return Catalog{
		{ID: "bijster", Name: "Bijster", Scopes: []permission.Permission{
			permission.UsersRead, permission.OrganizationRead}},
		{ID: "caseware", Name: "Caseware", Scopes: []permission.Permission{
			permission.UsersRead, permission.OrganizationRead, permission.AuditRead}},
		{ID: "comax", Name: "Comax", Scopes: []permission.Permission{
			permission.UsersRead, permission.UsersWrite, permission.OrganizationRead}},
		// Every scope but users:export: password hashes leave only by a
		// person's hand (a session), never through an integration's key.
		{ID: "internal", Name: "Internal integration", Scopes: slices.DeleteFunc(perms.All(),
			func(p permission.Permission) bool { return p == permission.UsersExport })},
	}
}

// Parse reads a catalog from JSON ([{id, name, scopes}]) and checks it:
// every scope is a permission of perms (Guichet's or the application's).
func Parse(data []byte, perms permission.Catalog) (Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	seen := map[string]bool{}
	for _, cl := range c {
		if cl.ID == "" || cl.Name == "" || seen[cl.ID] {
			return nil, fmt.Errorf("clients: client %q: id and name required, id unique", cl.ID)
		}
		seen[cl.ID] = true
		for _, s := range cl.Scopes {
			if !perms.Valid(s) {
				return nil, fmt.Errorf("clients: client %q: unknown scope %q", cl.ID, s)
			}
		}
	}
	return c, nil
}

// Find returns the client with the given id.
func (c Catalog) Find(id string) (Client, bool) {
	i := slices.IndexFunc(c, func(cl Client) bool { return cl.ID == id })
	if i < 0 {
		return Client{}, false
	}
	return c[i], true
}

// Cap returns a service user's permissions: perms, those its role grants,
// within the scopes of its client application (none for a client not in
// the catalog). Every path that gives a service user permissions (its
// creation, a role change, a token) takes them from here, as an API key's
// are its scopes within its creator's role.
func (c Catalog) Cap(client string, perms []string) []string {
	cl, ok := c.Find(client)
	out := []string{}
	if !ok {
		return out
	}
	for _, p := range perms {
		if slices.Contains(cl.Scopes, permission.Permission(p)) {
			out = append(out, p)
		}
	}
	return out
}
