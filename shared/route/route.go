// Package route is the one table of every HTTP route of the API. The local
// gateway builds its router from it, every function builds its mux from it,
// and the CDK stack builds the API Gateway routes from it.
package route

import "github.com/guichet/guichet/shared/permission"

// Functions, one Lambda each. Their code lives in functions/<name>.
const (
	Auth       = "auth"
	Authorizer = "authorizer"
	Profile    = "profile"
	Pages      = "pages"
)

// Route is one method and path of the HTTP API.
type Route struct {
	// Method is the HTTP method, upper case.
	Method string
	// Path uses the syntax API Gateway and net/http share: /v1/users/{id}.
	Path string
	// Function is the Lambda that serves the route.
	Function string
	// Operation names the handler inside the function; unique across the table.
	Operation string
	// Public routes skip authentication. Every other route needs a valid
	// session token or API key.
	Public bool
	// Permission the principal must hold; empty means any authenticated
	// principal.
	Permission permission.Permission
	// Summary is one line for people reading the API description.
	Summary string
}

// Key is the route key API Gateway uses: "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Pattern is the net/http ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Fallback serves every request no route matches (API Gateway's $default
// route): it answers 404 or 405 as a problem.
var Fallback = Route{Function: Pages, Operation: "fallback", Public: true,
	Summary: "Answers requests that match no route"}

// All returns the route table.
func All() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/auth/login", Function: Auth, Operation: "login", Public: true,
			Summary: "Log in with a login name and password"},
		{Method: "POST", Path: "/v1/auth/refresh", Function: Auth, Operation: "refresh", Public: true,
			Summary: "Exchange a refresh token for new tokens (rotation)"},
		{Method: "POST", Path: "/v1/auth/logout", Function: Auth, Operation: "logout",
			Summary: "End the current session"},
		{Method: "GET", Path: "/v1/me", Function: Profile, Operation: "getMe",
			Summary: "The caller's own user"},
		{Method: "GET", Path: "/v1/openapi.json", Function: Pages, Operation: "openapi", Public: true,
			Summary: "This API's OpenAPI 3.1 description"},
	}
}

// Functions returns the name of every function that serves routes, plus the
// authorizer, in a stable order.
func Functions() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range append(All(), Fallback) {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return append(out, Authorizer)
}

// ByFunction returns the routes a function serves.
func ByFunction(fn string) []Route {
	var out []Route
	for _, r := range All() {
		if r.Function == fn {
			out = append(out, r)
		}
	}
	return out
}

// Spec is what a function needs once deployed: the DynamoDB actions its code
// calls (its role gets exactly these, on the table and its index), whether it
// sends mail, and its size. A test runs every route and checks that each
// function calls no action outside its spec.
type Spec struct {
	Name           string
	DynamoDB       []string
	SendsMail      bool
	MemoryMB       int
	TimeoutSeconds int
}

// Specs returns the spec of every function in Functions() order.
func Specs() []Spec {
	return []Spec{
		{Name: Auth, DynamoDB: []string{"GetItem", "BatchGetItem", "UpdateItem", "DeleteItem", "TransactWriteItems"},
			MemoryMB: 512, TimeoutSeconds: 10},
		{Name: Profile, DynamoDB: []string{"GetItem"}, MemoryMB: 256, TimeoutSeconds: 10},
		{Name: Pages, DynamoDB: []string{}, MemoryMB: 256, TimeoutSeconds: 10},
		{Name: Authorizer, DynamoDB: []string{"GetItem"}, MemoryMB: 256, TimeoutSeconds: 5},
	}
}
