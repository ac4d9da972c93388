package route

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Access is who may call one of the application's routes.
type Access string

// The three kinds of access an application route declares.
const (
	// Public: anybody; the authorizer still passes the principal when the
	// request carries a valid credential.
	Public Access = "public"
	// Authenticated: any valid credential of the deployment.
	Authenticated Access = "authenticated"
	// Permission: a valid credential whose principal holds AppRoute.Permission.
	Permission Access = "permission"
)

// Mode is how the gateway verifies the credential of a request to one of
// the application's routes.
type Mode string

// The two modes of an application route.
const (
	// Strict: Guichet's Lambda authorizer checks the access token's
	// signature, then reads its credential (one GetItem): a revocation, a
	// deactivation or a change of role takes effect on the next request.
	// API keys are admitted. The mode of a route that names none.
	Strict Mode = "strict"
	// Fast: API Gateway's JWT authorizer checks the access token alone
	// (signature by the issuer's JWKS, issuer, audience, expiry, and the
	// route's permission among the token's scope): no Lambda, no DynamoDB
	// call, but a revoked session or a changed role is seen only when the
	// token expires (ACCESS_TOKEN_TTL). API keys are refused.
	Fast Mode = "fast"
)

// AppRoute is one of the application's own routes behind Guichet: the
// gateway (API Gateway with Guichet's authorizer, or the local gateway of
// `make run`) refuses a request the route's access does not admit before
// the application's code runs. Path is an API Gateway path pattern
// ("/projects/{id}", "/files/{proxy+}").
type AppRoute struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	Access     Access `json:"access"`
	Permission string `json:"permission,omitempty"`
	// Mode is Strict (also when empty) or Fast.
	Mode Mode `json:"mode,omitempty"`
}

// IsFast reports whether r is verified in Fast mode.
func (r AppRoute) IsFast() bool { return r.Mode == Fast }

// Key is the route's API Gateway route key, "METHOD /path", which the
// authorizer's event carries as routeKey.
func (r AppRoute) Key() string { return r.Method + " " + r.Path }

// Check reports what is wrong with r, naming it.
func (r AppRoute) Check() error {
	switch {
	case !validMethod(r.Method):
		return fmt.Errorf("route %q: method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY", r.Key())
	case !strings.HasPrefix(r.Path, "/"):
		return fmt.Errorf("route %q: path must start with /", r.Key())
	case r.Access == Permission && r.Permission == "":
		return fmt.Errorf("route %q: access %q needs a permission", r.Key(), r.Access)
	case r.Access != Permission && r.Permission != "":
		return fmt.Errorf("route %q: a permission is only for access %q", r.Key(), Permission)
	case r.Access != Public && r.Access != Authenticated && r.Access != Permission:
		return fmt.Errorf("route %q: access must be %q, %q or %q", r.Key(), Public, Authenticated, Permission)
	case r.Mode != "" && r.Mode != Strict && r.Mode != Fast:
		return fmt.Errorf("route %q: mode must be %q or %q", r.Key(), Strict, Fast)
	case r.Mode == Fast && r.Access == Public:
		return fmt.Errorf("route %q: mode %q cannot be %q: API Gateway's JWT authorizer refuses every request without a valid token, so an anonymous one would never get through; use mode %q", r.Key(), Fast, Public, Strict)
	}
	for _, g := range All() {
		if strings.HasPrefix(r.Path, "/v1/") || r.Path == "/v1" || (g.Method == r.Method && g.Path == r.Path) {
			return fmt.Errorf("route %q: the path belongs to Guichet's own API", r.Key())
		}
	}
	return nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, "ANY":
		return true
	}
	return false
}

// ParseAppRoutes reads the application's routes from APP_ROUTES: a JSON
// array of AppRoute, or the name of a file holding one. Each route is
// checked, and no two share a key.
func ParseAppRoutes(v string) ([]AppRoute, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	b := []byte(v)
	if !strings.HasPrefix(v, "[") {
		var err error
		if b, err = os.ReadFile(v); err != nil {
			return nil, fmt.Errorf("APP_ROUTES: %w", err)
		}
	}
	var routes []AppRoute
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&routes); err != nil {
		return nil, fmt.Errorf("APP_ROUTES: %w", err)
	}
	seen := map[string]bool{}
	for _, r := range routes {
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("APP_ROUTES: %w", err)
		}
		if seen[r.Key()] {
			return nil, fmt.Errorf("APP_ROUTES: route %q is listed twice", r.Key())
		}
		seen[r.Key()] = true
	}
	return routes, nil
}
