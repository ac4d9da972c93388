// Package apikeys holds the rules of API keys: scoped keys a user makes for
// a client application of the catalog, shown once, listed without the
// secret, revoked or rotated (with an optional grace period), and audited.
//
// A key's scopes are a subset of what its client application may ask for
// and of its creator's permissions; the key acts with its scopes within its
// creator's current role (a role change narrows or widens it again, never
// beyond its scopes). Storage: see shared/store/apikey.go.
package apikeys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/guichet/guichet/shared/clients"
	"github.com/guichet/guichet/shared/cursor"
	"github.com/guichet/guichet/shared/mail"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/ratelimit"
	"github.com/guichet/guichet/shared/reauth"
	"github.com/guichet/guichet/shared/router"
	"github.com/guichet/guichet/shared/scope"
	"github.com/guichet/guichet/shared/store"
	"github.com/guichet/guichet/shared/token"
	"github.com/guichet/guichet/shared/validate"
)

// Limits of a key.
const (
	MaxName     = 100
	MaxLifetime = 2 * 365 * 24 * time.Hour
	MaxGrace    = 24 * time.Hour
	// UseInterval is how stale a key's last_used may get before a request
	// made with it records it again.
	UseInterval = time.Minute
)

// Service applies the API key rules.
type Service struct {
	store     *store.Store
	clients   clients.Catalog
	perms     permission.Catalog
	reauth    *reauth.Checker
	mail      *mail.Notifier
	mails     *ratelimit.Mails
	publicURL string
	now       func() time.Time
}

// New returns an API key service for the client applications of catalog.
// Making a key asks for a recent authentication (checked by r) and mails
// its owner (through n; links point at publicURL).
func New(s *store.Store, catalog clients.Catalog, perms permission.Catalog, r *reauth.Checker, n *mail.Notifier, publicURL string, now func() time.Time) *Service {
	return &Service{store: s, clients: catalog, perms: perms, reauth: r, mail: n, mails: ratelimit.NewMails(s, now),
		publicURL: strings.TrimRight(publicURL, "/"), now: now}
}

// APIKeyRequest is the body of POST /v1/me/api-keys.
type APIKeyRequest struct {
	Name      string   `json:"name" doc:"A name to recognize the key by, at most 100 characters."`
	Client    string   `json:"client" doc:"The client application (see GET /v1/clients)."`
	Scopes    []string `json:"scopes" doc:"At least one; each allowed to the client application and held by the caller."`
	ExpiresAt string   `json:"expires_at,omitempty" doc:"RFC 3339 time, in the future and at most two years ahead; absent, the key does not expire."`
	reauth.Proof
}

// RotateAPIKeyRequest is the body of POST /v1/me/api-keys/{id}/rotate.
type RotateAPIKeyRequest struct {
	GraceSeconds int `json:"grace_seconds,omitempty" doc:"How long the old key keeps working, 0 (default) to 86400 seconds."`
	reauth.Proof
}

// APIKey is an API key as listed: never the key itself.
type APIKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Client    string     `json:"client"`
	Scopes    []string   `json:"scopes"`
	Prefix    string     `json:"prefix" doc:"The key's first 12 characters, to recognize it."`
	Created   time.Time  `json:"created"`
	LastUsed  *time.Time `json:"last_used,omitempty" doc:"Within a minute; absent if never used."`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"Absent: the key does not expire."`
	Rotated   *time.Time `json:"rotated,omitempty" doc:"When the key was replaced; it works until expires_at."`

	// UnknownScopes are those of Scopes the catalog no longer holds.
	UnknownScopes []string `json:"unknown_scopes,omitempty" doc:"Scopes the deployment's catalog no longer holds: inert, the key does not grant them."`
}

// NewAPIKey is a key just made: the only answer that holds the key.
type NewAPIKey struct {
	APIKey
	Secret string `json:"key" doc:"The API key, shown only in this answer: send it as Authorization: Bearer <key>."`
}

// sessionOnly refuses key management to a principal that is not a person
// signed in.
func sessionOnly(p principal.Principal) error {
	if p.Kind == store.Service {
		return problem.New(http.StatusForbidden, "service_user",
			"Service users do not make API keys; they get tokens from /v1/auth/token.")
	}
	if p.Credential != principal.Session {
		return problem.New(http.StatusForbidden, "session_required",
			"API keys are made and rotated by their user signed in, not with an API key.")
	}
	return nil
}

// Create makes a key for the principal and returns it, in clear, once.
func (s *Service) Create(ctx context.Context, p principal.Principal, in APIKeyRequest) (NewAPIKey, error) {
	if err := sessionOnly(p); err != nil {
		return NewAPIKey{}, err
	}
	now := s.now().UTC()
	var v validate.Errors
	name := strings.TrimSpace(in.Name)
	v.Name("name", in.Name, MaxName)
	client, ok := s.clients.Find(in.Client)
	if !ok {
		v.Add("client", "must be one of the client applications of GET /v1/clients")
	}
	scopes := checkScopes(&v, s.perms, in.Scopes, client, ok)
	expires := store.NoExpiry
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		switch {
		case err != nil:
			v.Add("expires_at", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
		case !t.After(now):
			v.Add("expires_at", "must be in the future")
		case t.After(now.Add(MaxLifetime)):
			v.Add("expires_at", "must be at most two years ahead")
		default:
			expires = t.Unix()
		}
	}
	if err := v.Err(); err != nil {
		return NewAPIKey{}, err
	}
	for _, sc := range scopes {
		if !p.Can(permission.Permission(sc)) {
			return NewAPIKey{}, problem.New(http.StatusForbidden, "scope_escalation",
				fmt.Sprintf("You cannot give a key the %q scope: you do not hold that permission.", sc))
		}
	}
	uc, err := s.reauth.Recent(ctx, p.Org, p.User, in.Proof)
	if err != nil {
		return NewAPIKey{}, err
	}
	k, err := s.issue(ctx, p, now, name, client.ID, scopes, expires, nil)
	if err == nil {
		s.tell(ctx, uc, k)
	}
	return k, err
}

// checkScopes returns the scopes asked, without duplicates, in catalog
// order, or records why they cannot be.
func checkScopes(v *validate.Errors, catalog permission.Catalog, asked []string, client clients.Client, known bool) []string {
	if len(asked) == 0 {
		v.Add("scopes", "must list at least one scope")
		return nil
	}
	var out []string
	for _, perm := range catalog.All() {
		if slices.Contains(asked, string(perm)) {
			out = append(out, string(perm))
		}
	}
	for _, sc := range asked {
		switch {
		case !catalog.Valid(permission.Permission(sc)):
			v.Add("scopes", "%q is not a permission", sc)
			return nil
		case known && !slices.Contains(client.Scopes, permission.Permission(sc)):
			v.Add("scopes", "%q is not allowed to the client application %s", sc, client.Name)
			return nil
		}
	}
	return out
}

// issue writes a new key for p, in place of old when old is set.
func (s *Service) issue(ctx context.Context, p principal.Principal, now time.Time, name, client string, scopes []string, expires int64, old *rotation) (NewAPIKey, error) {
	secret, hash, err := token.New(token.APIKey)
	if err != nil {
		return NewAPIKey{}, err
	}
	id := store.NewID("key_")
	// A custom role's permissions are read from the role, and the key is
	// written only while the role is at the version read: a key made
	// while the role changes never keeps what the change took away.
	g, err := s.store.RoleGrant(ctx, s.perms, p.Org, p.Role)
	if err != nil {
		return NewAPIKey{}, err
	}
	version := g.Version
	var perms []string
	for _, sc := range scopes {
		if p.Can(permission.Permission(sc)) && slices.Contains(g.Permissions, sc) {
			perms = append(perms, sc)
		}
	}
	u := store.User{ID: p.User, Kind: p.Kind, Role: p.Role}
	cred, entry := store.NewAPIKey(hash, id, p.Org, u, name, client, token.Prefix(secret), scopes, perms, now, expires)
	cred.RoleVersion = version
	created := s.audit(p, now, "apikey.create", id, "name", "client", "scopes", "expires_at")
	if old == nil {
		err = s.store.CreateAPIKey(ctx, cred, entry, created)
	} else {
		rotated := s.audit(p, now, "apikey.rotate", old.entry.ID, "expires_at")
		err = s.store.RotateAPIKey(ctx, old.entry, old.until, now, cred, entry, rotated, created)
	}
	switch {
	case store.Lost(err, store.UserChanged), store.Lost(err, store.RoleChanged):
		return NewAPIKey{}, problem.Conflict("conflict", "Your account changed meanwhile; sign in again and retry.")
	case old != nil && store.Lost(err, store.KeyGone):
		return NewAPIKey{}, notFound()
	case err != nil:
		return NewAPIKey{}, err
	}
	return NewAPIKey{APIKey: s.entryView(entry, 0), Secret: secret}, nil
}

func (s *Service) audit(p principal.Principal, now time.Time, action, id string, fields ...string) store.Audit {
	return store.Audit{Org: p.Org, Time: now, Actor: p.User, Via: p.Credential + ":" + p.CredentialID,
		Action: action, Target: "apikey:" + id, Fields: fields}
}

func notFound() *problem.Problem { return problem.NotFound("No such API key.") }

// rotation is the key a new one replaces, and when the old one ends.
type rotation struct {
	entry store.KeyEntry
	until time.Time
}

// Rotate replaces one of the principal's keys by a new one with the same
// name, client, scopes and expiry. The old key ends now, or after grace.
func (s *Service) Rotate(ctx context.Context, p principal.Principal, id string, in RotateAPIKeyRequest) (NewAPIKey, error) {
	if err := sessionOnly(p); err != nil {
		return NewAPIKey{}, err
	}
	if in.GraceSeconds < 0 || in.GraceSeconds > int(MaxGrace/time.Second) { // bounded before it is multiplied
		return NewAPIKey{}, problem.Invalid(problem.FieldError{Field: "grace_seconds", Message: "must be from 0 to 86400"})
	}
	now := s.now().UTC()
	old, err := s.own(ctx, p, id, now)
	if err != nil {
		return NewAPIKey{}, err
	}
	if old.Rotated != 0 {
		return NewAPIKey{}, problem.Conflict("already_rotated", "This key was replaced already; rotate its replacement.")
	}
	until := now.Add(time.Duration(in.GraceSeconds) * time.Second)
	if u := time.Unix(old.Expires, 0); until.After(u) {
		until = u
	}
	uc, err := s.reauth.Recent(ctx, p.Org, p.User, in.Proof)
	if err != nil {
		return NewAPIKey{}, err
	}
	k, err := s.issue(ctx, p, now, old.Name, old.Client, old.Scopes, old.Expires, &rotation{entry: old, until: until})
	if err == nil {
		s.tell(ctx, uc, k)
	}
	return k, err
}

// tell mails the key's owner that the key was made: a session stolen
// and re-authenticated still cannot make a key unnoticed.
func (s *Service) tell(ctx context.Context, uc store.UserContext, k NewAPIKey) {
	u := uc.User
	if u.Email == "" {
		return
	}
	s.mail.Notify(ctx, mail.APIKeyCreated, u.Language, u.Email, mail.Data{
		Org: uc.Org.Name, Name: displayName(u),
		When: k.Created.UTC().Format("2006-01-02 15:04 UTC"), Key: k.Name + " (" + k.Prefix + ")",
		Link: s.publicURL + "/forgot"})
}

// displayName is how a user is named in a mail: its names, else its
// address.
func displayName(u store.User) string {
	if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
		return name
	}
	return u.Email
}

// entry returns the live key id of the principal's organization: one the
// principal made, or anyone's when anyone. Another's key, another
// organization's, an expired one: all are 404, telling nothing.
func (s *Service) entry(ctx context.Context, p principal.Principal, id string, now time.Time, anyone bool) (store.KeyEntry, error) {
	if id == "" || len(id) > 64 {
		return store.KeyEntry{}, notFound()
	}
	e, err := s.store.GetKeyEntry(ctx, p.Org, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.KeyEntry{}, notFound()
	}
	if err != nil {
		return store.KeyEntry{}, err
	}
	if (!anyone && e.User != p.User) || e.Expires <= now.Unix() {
		return store.KeyEntry{}, notFound()
	}
	return e, nil
}

// own returns one of the principal's own live keys.
func (s *Service) own(ctx context.Context, p principal.Principal, id string, now time.Time) (store.KeyEntry, error) {
	return s.entry(ctx, p, id, now, false)
}

// Revoke ends one of the principal's own keys at once.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, id string) error {
	now := s.now().UTC()
	e, err := s.entry(ctx, p, id, now, false)
	if err != nil {
		return err
	}
	return s.revoke(ctx, p, e, now, nil)
}

// RevokeAny ends any key of the principal's organization at once (the
// admin route), but one of a user the principal may not act on; for a
// principal whose role is limited to its units, a key of a user outside
// them is not found.
func (s *Service) RevokeAny(ctx context.Context, p principal.Principal, id string) error {
	now := s.now().UTC()
	e, err := s.entry(ctx, p, id, now, true)
	if err != nil {
		return err
	}
	var within *store.Within
	if e.User != p.User {
		u, err := s.store.GetUser(ctx, p.Org, e.User)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		sc, err := scope.Of(ctx, s.store, p)
		if err != nil {
			return err
		}
		if u.ID != "" && !sc.User(u) {
			return notFound()
		}
		if err := sc.ActsOn(ctx, s.store, u); err != nil {
			return err
		}
		if err := p.ActOn(u.ID, u.Role, s.perms.Known(u.Permissions)); err != nil {
			return err
		}
		if r := sc.Reach(); r != nil && u.ID != "" {
			within = &store.Within{Reach: *r, Version: u.Version}
		}
	}
	return s.revoke(ctx, p, e, now, within)
}

func (s *Service) revoke(ctx context.Context, p principal.Principal, e store.KeyEntry, now time.Time, w *store.Within) error {
	err := s.store.RevokeAPIKey(ctx, e, s.audit(p, now, "apikey.revoke", e.ID), w)
	if store.Lost(err, store.UserChanged) || store.Lost(err, store.TreeChanged) {
		return problem.Conflict("conflict", "The key's user or your units changed meanwhile; try again.")
	}
	if errors.Is(err, store.ErrConflict) {
		return notFound() // revoked meanwhile
	}
	return err
}

// Mine returns the principal's live keys, newest first.
func (s *Service) Mine(ctx context.Context, p principal.Principal) ([]APIKey, error) {
	creds, err := s.store.UserAPIKeys(ctx, p.User)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	out := []APIKey{}
	for _, c := range creds {
		if c.Org != p.Org || c.Expires <= now {
			continue // expired, awaiting TTL
		}
		k := s.entryView(store.KeyEntry{ID: c.KeyID, Name: c.Name, Client: c.Client, Scopes: c.Scopes,
			Prefix: c.Prefix, Created: c.Created, Expires: c.Expires, Rotated: c.Rotated}, c.LastUsed)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b APIKey) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// entryView is the API's view of a key.
func (s *Service) entryView(e store.KeyEntry, lastUsed int64) APIKey {
	scopes := []string(e.Scopes)
	if scopes == nil {
		scopes = []string{}
	}
	k := APIKey{ID: e.ID, Name: e.Name, Client: e.Client, Scopes: scopes, Prefix: e.Prefix, Created: e.Created.UTC(),
		LastUsed: epochTime(lastUsed), Rotated: epochTime(e.Rotated), UnknownScopes: s.perms.Unknown(scopes)}
	if e.Expires != store.NoExpiry {
		k.ExpiresAt = epochTime(e.Expires)
	}
	return k
}

func epochTime(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

// RecordUse records that p's API key was used now, unless the use the
// authorizer saw is less than UseInterval old: so at most one conditional
// write per key and minute, and none on most requests.
func (s *Service) RecordUse(ctx context.Context, p principal.Principal) error {
	if p.Credential != principal.APIKey || p.KeyHash == "" {
		return nil
	}
	now := s.now()
	if now.Sub(time.Unix(p.LastUsed, 0)) < UseInterval {
		return nil
	}
	_, err := s.store.RecordKeyUse(ctx, p.KeyHash, now)
	return err
}

// Clients returns the catalog of client applications.
func (s *Service) Clients() ClientList {
	out := ClientList{Items: []clients.Client{}}
	for _, c := range s.clients {
		if c.Scopes == nil {
			c.Scopes = []permission.Permission{}
		}
		out.Items = append(out.Items, c)
	}
	return out
}

// List returns a page of the organization's live keys, with their users
// and last use: one Query and one BatchGetItem.
func (s *Service) List(ctx context.Context, p principal.Principal, pg router.Page) (APIKeyPage, error) {
	start, err := cursor.DecodePrefix(p.Org, cursorList, "APIKEY#", pg.Cursor)
	if err != nil {
		return APIKeyPage{}, err
	}
	entries, next, err := s.store.ListAPIKeys(ctx, p.Org, start, pg.Limit)
	if err != nil {
		return APIKeyPage{}, err
	}
	now := s.now().Unix()
	var hashes []string
	for _, e := range entries {
		if e.Expires > now {
			hashes = append(hashes, e.Hash)
		}
	}
	used := map[string]int64{}
	if len(hashes) > 0 {
		if used, err = s.store.KeysLastUsed(ctx, hashes); err != nil {
			return APIKeyPage{}, err
		}
	}
	page := APIKeyPage{Items: []OrgAPIKey{}, NextCursor: cursor.Encode(p.Org, cursorList, next)}
	for _, e := range entries {
		if e.Expires > now { // an expired key awaits TTL
			page.Items = append(page.Items, OrgAPIKey{APIKey: s.entryView(e, used[e.Hash]), UserID: e.User})
		}
	}
	return page, nil
}
