// Package registry holds the OpenID Connect clients of a deployment
// (OIDC_CLIENTS): who may ask for tokens, where they may be sent back, and
// which scopes they may ask for.
package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/permission"
)

// Type is a client's kind, which decides how it authenticates.
type Type string

const (
	Web     Type = "web"     // a server-side application: confidential, code flow
	SPA     Type = "spa"     // a browser application: public, code flow with PKCE
	Native  Type = "native"  // a mobile or desktop application: public, PKCE, loopback redirects
	Service Type = "service" // an integration without a person: confidential, client_credentials
)

// The OpenID Connect scopes a client may ask for besides the permissions.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

var protocolScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// IsProtocolScope reports whether s is one of OpenID Connect's scopes
// (openid, profile, email, offline_access) rather than a permission.
func IsProtocolScope(s string) bool { return slices.Contains(protocolScopes, s) }

// Client is a registered OpenID Connect client.
type Client struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	Type                   Type     `json:"type"`
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// FirstParty clients are the deployment's own applications: the hosted
	// login asks no consent for them.
	FirstParty bool `json:"first_party,omitempty"`
	// Scopes are those the client may ask for: permissions of the catalog
	// and openid, profile, email, offline_access.
	Scopes []string `json:"scopes"`
	// SecretHash is the hex SHA-256 of the client's secret (web and service
	// clients only), as `guichet oidc client-secret` prints it.
	SecretHash string `json:"secret_hash,omitempty"`
}

// Confidential says whether the client authenticates with a secret.
func (c Client) Confidential() bool { return c.Type == Web || c.Type == Service }

// Allows says whether the client may ask for scope s.
func (c Client) Allows(s string) bool { return slices.Contains(c.Scopes, s) }

// CheckSecret says whether secret is the client's (constant time).
func (c Client) CheckSecret(secret string) bool {
	if !c.Confidential() || c.SecretHash == "" || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(c.SecretHash)) == 1
}

// Redirect says whether uri is one of the client's redirect URIs: the same
// string, or for a native client a loopback redirect (http://127.0.0.1 or
// http://[::1], any port, RFC 8252 §7.3) whose registered form has the same
// path and query. "localhost" is not a loopback address here (RFC 8252
// §8.3: it may resolve elsewhere).
func (c Client) Redirect(uri string) bool {
	return matches(c, c.RedirectURIs, uri)
}

// PostLogout says whether uri is one of the client's post-logout redirect
// URIs (same rule as Redirect).
func (c Client) PostLogout(uri string) bool {
	return matches(c, c.PostLogoutRedirectURIs, uri)
}

func matches(c Client, registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	if c.Type != Native {
		return false
	}
	u, ok := loopback(uri)
	if !ok {
		return false
	}
	for _, r := range registered {
		if ru, ok := loopback(r); ok && ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// loopback parses uri as an http loopback redirect (IP literal, no
// fragment, no user info).
func loopback(uri string) (*url.URL, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, false
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !(ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
		return nil, false
	}
	if p := u.Port(); p != "" && strings.TrimLeft(p, "0123456789") != "" {
		return nil, false
	}
	return u, true
}

// Registry is the deployment's clients.
type Registry []Client

// Find returns the client with the given id.
func (r Registry) Find(id string) (Client, bool) {
	i := slices.IndexFunc(r, func(c Client) bool { return c.ID == id })
	if i < 0 {
		return Client{}, false
	}
	return r[i], true
}

// ReturnTo says whether a hosted page may send a person to uri on behalf of
// client: one of its redirect or post-logout URIs (no open redirect).
func (r Registry) ReturnTo(client, uri string) bool {
	c, ok := r.Find(client)
	return ok && (c.Redirect(uri) || c.PostLogout(uri))
}

// Back is where the page of a mailed link (an invitation, a reset) leads
// once done: a registered URI of a client (Registry.Back). The zero Back
// leads nowhere in particular (APP_URL).
type Back struct{ Client, URI string }

// Back checks client and uri, given together or not at all, for a link's
// way back (ReturnTo); the message says what is wrong, for the field
// return_to.
func (r Registry) Back(client, uri string) (Back, string) {
	switch {
	case client == "" && uri == "":
		return Back{}, ""
	case client == "" || uri == "":
		return Back{}, "goes with client_id"
	case len(uri) > 2048 || !r.ReturnTo(client, uri):
		return Back{}, "must be a registered redirect or post-logout URI of client_id"
	}
	return Back{Client: client, URI: uri}, ""
}

// Set adds b to the query of a link (client_id and return_to).
func (b Back) Set(q url.Values) {
	if b.URI != "" {
		q.Set("client_id", b.Client)
		q.Set("return_to", b.URI)
	}
}

// Parse reads OIDC_CLIENTS (a JSON array of Client) and checks every
// entry; an error names the entry at fault.
func Parse(data []byte, perms permission.Catalog) (Registry, error) {
	var r Registry
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return nil, fmt.Errorf("oidc clients: %w", err)
	}
	seen := map[string]bool{}
	for i, c := range r {
		if err := check(c, perms); err != nil {
			return nil, fmt.Errorf("oidc clients: entry %d (%q): %w", i, c.ID, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("oidc clients: entry %d (%q): id already used", i, c.ID)
		}
		seen[c.ID] = true
	}
	return r, nil
}

// Reserved is the client_id of the JSON login API's access tokens
// (session.FirstParty): no registered client takes it, so that a token's
// client_id names one client.
const Reserved = "guichet"

func check(c Client, perms permission.Catalog) error {
	switch {
	case c.ID == "" || c.Name == "":
		return fmt.Errorf("id and name are required")
	case c.ID == Reserved:
		return fmt.Errorf("id %q is the client_id of the JSON login API's tokens", c.ID)
	case strings.ContainsAny(c.ID, "/ :"):
		// A slash names a service user (organization/user) at the token endpoint.
		return fmt.Errorf("id %q: no slash, colon or space", c.ID)
	}
	switch c.Type {
	case Web, SPA, Native:
		if len(c.RedirectURIs) == 0 {
			return fmt.Errorf("a %s client needs redirect_uris", c.Type)
		}
	case Service:
		if len(c.RedirectURIs) > 0 || len(c.PostLogoutRedirectURIs) > 0 {
			return fmt.Errorf("a service client has no redirect URIs")
		}
	default:
		return fmt.Errorf("type %q: want web, spa, native or service", c.Type)
	}
	if c.Confidential() {
		if b, err := hex.DecodeString(c.SecretHash); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("a %s client needs secret_hash, the hex SHA-256 of its secret (guichet oidc client-secret)", c.Type)
		}
	} else if c.SecretHash != "" {
		return fmt.Errorf("a %s client is public: no secret_hash", c.Type)
	}
	for _, u := range append(slices.Clone(c.RedirectURIs), c.PostLogoutRedirectURIs...) {
		if err := checkURI(c, u); err != nil {
			return err
		}
	}
	if len(c.Scopes) == 0 {
		return fmt.Errorf("scopes are required")
	}
	for _, s := range c.Scopes {
		if IsProtocolScope(s) {
			if c.Type == Service && s != ScopeOpenID {
				return fmt.Errorf("scope %q: a service client has no person", s)
			}
			continue
		}
		if !perms.Valid(permission.Permission(s)) {
			return fmt.Errorf("unknown scope %q", s)
		}
	}
	return nil
}

func checkURI(c Client, uri string) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Fragment != "" {
		return fmt.Errorf("redirect %q: want an absolute URI without fragment", uri)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http":
		if _, ok := loopback(uri); !ok && u.Hostname() != "localhost" {
			return fmt.Errorf("redirect %q: http only for a loopback address", uri)
		}
	case c.Type == Native && strings.Contains(u.Scheme, "."):
		// A private-use scheme (RFC 8252 §7.1): reverse domain name.
	default:
		return fmt.Errorf("redirect %q: scheme %q not allowed for a %s client", uri, u.Scheme, c.Type)
	}
	return nil
}

// NewSecret returns a new client secret (32 random bytes, base64url) and
// its hash, the form OIDC_CLIENTS holds.
func NewSecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("oidc clients: random: %w", err)
	}
	secret = "gcs_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret), nil
}

// HashSecret is the hex SHA-256 of a client secret. A secret of 256 random
// bits needs no slow hash (argon2id is for guessable passwords): SHA-256
// keeps a token request's client check to a microsecond, like every other
// credential of Guichet.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
