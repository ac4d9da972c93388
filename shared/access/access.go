// Package access is what an application's own code needs from Guichet:
// the principal of a request behind Guichet (the caller's organization,
// user, role, permissions and units), read from the API Gateway v2 event
// that Guichet's authorizer annotated or from the header the local
// gateway of `make run` forwards, and the checks an application makes on
// it. It depends on nothing else of Guichet, so that an application's
// Lambdas import it alone.
package access

// Version is the version of the principal's shape below. A change that
// removes or renames a field, or changes its meaning, takes a new version;
// adding a field does not.
const Version = 1

// ContextKey is the key of the authorizer context (the v2 event's
// requestContext.authorizer.lambda) whose value is the principal, as JSON.
const ContextKey = "principal"

// Header is the request header in which the local gateway forwards the
// principal to the application's upstream, as base64url (no padding) of
// the same JSON. Guichet's gateways drop any such header a client sends.
const Header = "X-Guichet-Principal"

// Principal is who is calling, as Guichet's authorizer resolved it from
// the request's credential. GET /v1/me answers the same shape.
type Principal struct {
	Version      int          `json:"version"`
	Organization Organization `json:"organization"`
	// User is the user's id in the organization (its membership).
	User string `json:"user"`
	// Person is the person's id, the same across the organizations the
	// person belongs to; empty for username (PIN) and service users.
	Person string `json:"person,omitempty"`
	// Kind is "person" or "service".
	Kind string `json:"kind"`
	Role Role   `json:"role"`
	// Permissions the request may use: the role's for a session; for an API
	// key its scopes within its creator's current role; for a service user
	// its role's within its client application's scopes.
	Permissions []string   `json:"permissions"`
	Units       Units      `json:"units"`
	DefaultUnit string     `json:"default_unit,omitempty"`
	Credential  Credential `json:"credential"`
}

// Organization names the principal's organization.
type Organization struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
}

// Role is the principal's role in its organization.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// OwnUnits is true when the role acts only within its holder's units.
	OwnUnits bool `json:"own_units,omitempty"`
}

// Units are the units the principal may act in.
type Units struct {
	// All is true when the principal may act in every unit.
	All bool `json:"all"`
	// Kinds are unit kinds all of whose units the principal may act in.
	Kinds []string `json:"kinds,omitempty"`
	// List is the units given one by one.
	List []string `json:"list,omitempty"`
	// Expanded is every unit the principal may act in: List, the units of
	// Kinds, and the descendants of both. GET /v1/me holds them all; the
	// authorizer's context (on the application's routes) at most
	// MaxExpanded, with ExpandedTruncated set when there are more.
	Expanded []string `json:"expanded,omitempty"`
	// ExpandedTruncated is true when Expanded was cut at MaxExpanded: a unit
	// not in it may still be the principal's (InUnit then answers false;
	// ask GET /v1/me, or check the unit's ancestors and kind yourself).
	ExpandedTruncated bool `json:"expanded_truncated,omitempty"`
}

// MaxExpanded is the most units the authorizer's context carries in
// Units.Expanded: a session's principal with 100 is 2.7 KB of JSON, 3.5 KB
// as the base64 Header (measured by
// TestTheApplicationGetsThePrincipalsExpandedUnits), well under the 8 KB
// header line most HTTP servers take and what API Gateway passes on.
const MaxExpanded = 100

// Credential is what the request presented.
type Credential struct {
	// Kind is "session" or "apikey".
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Client is the client application of an API key or a service user.
	Client string `json:"client,omitempty"`
	// Scopes are an API key's scopes as created.
	Scopes []string `json:"scopes,omitempty"`
	// Expires is when the credential expires, in epoch seconds (0: never).
	Expires int64 `json:"expires,omitempty"`
}
