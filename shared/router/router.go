// Package router builds a function's HTTP handler from the route table:
// each route bound to its operation's handler, behind authentication and the
// route's permission. A route reads the same in every function and in the
// local gateway because all of them read the one table.
package router

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/principal"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/route"
)

// Op is one operation: its handler and what it reads and writes, for the
// API description. The typed constructors (JSON, NoContent, List, Upload,
// Download) derive what it reads and writes from their type parameters;
// only the hosted pages and the description itself build one by hand.
type Op struct {
	Handle httpapi.HandlerFunc
	// Request is the JSON body type the operation decodes (nil: none).
	Request any
	// RequestOptional is true when the body may be left out.
	RequestOptional bool
	// RequestTypes lists the media types of a request body that is not
	// JSON (an import file).
	RequestTypes []string
	// Response is the JSON body type of its success (nil: none).
	Response any
	// Status is the success status; 200 when zero.
	Status int
	// Query lists the query parameters the operation reads.
	Query []Param
	// ContentTypes lists the media types of a success body that is not
	// JSON (a PDF, an image).
	ContentTypes []string
	// SeeOther is the JSON body of the 303 See Other the operation may
	// answer instead of its file (DownloadOrSee); nil when it never does.
	SeeOther any
}

// OneOf is a Response that is one of several types.
type OneOf []any

// Either is an answer that is one of two types, A or B: Value holds it.
type Either[A, B any] struct{ Value any }

// MarshalJSON writes the value held.
func (e Either[A, B]) MarshalJSON() ([]byte, error) { return json.Marshal(e.Value) }

// Alternatives are the types the API description lists.
func (Either[A, B]) Alternatives() OneOf {
	var a A
	var b B
	return OneOf{a, b}
}

// Param is a query parameter.
type Param struct {
	Name        string
	Description string
	// Type is the JSON Schema type of its value: "string" when empty,
	// "integer" or "boolean".
	Type string
	// Enum, when set, lists the values allowed.
	Enum []string
	// Required parameters must be given.
	Required bool
	// Minimum and Maximum bound an integer (when Maximum is set); Default
	// is its value when left out.
	Minimum, Maximum, Default int
}

// Operations maps a route's operation to its Op.
type Operations map[route.OperationID]Op

// KeyUse records that an API key was used. It gets every principal that
// presents an API key and decides itself whether to write (at most once a
// minute per key).
type KeyUse func(ctx context.Context, p principal.Principal) error

// Option changes how New builds a function's handler.
type Option func(*options)

type options struct {
	keyUse KeyUse
	log    *slog.Logger
}

// WithKeyUse makes every authorized request made with an API key call f,
// alongside the operation. A failure of f is logged, never answered: the
// request does not depend on it.
func WithKeyUse(f KeyUse) Option { return func(o *options) { o.keyUse = f } }

// New returns the handler of function fn. Every route of fn must have an
// operation in ops, and every operation a route. Requests matching no route
// of fn get the 404 or 405 problem the whole table calls for.
func New(fn string, ops Operations, log *slog.Logger, mapErr httpapi.ErrorMapper, opts ...Option) (http.Handler, error) {
	o := options{log: log}
	for _, opt := range opts {
		opt(&o)
	}
	mux := http.NewServeMux()
	used := map[route.OperationID]bool{}
	for _, rt := range route.ByFunction(fn) {
		op, ok := ops[rt.Operation]
		if !ok {
			return nil, fmt.Errorf("router: %s: no operation %q for %s", fn, rt.Operation, rt.Key())
		}
		used[rt.Operation] = true
		mux.Handle(rt.Pattern(), httpapi.Handler(log, mapErr, guard(rt, op.Handle, o)))
	}
	for name := range ops {
		if !used[name] {
			return nil, fmt.Errorf("router: %s: operation %q has no route", fn, name)
		}
	}
	mux.Handle("/", httpapi.Handler(log, mapErr, Fallback))
	return mux, nil
}

// guard refuses requests to an authorized route without a principal (401)
// or without the route's permission (403), and hands the principal to op
// through the request's context. For an API key it records the key's use
// alongside: the write runs while the request is served and ends before
// the answer leaves (a Lambda is frozen once it answers), so it adds no
// latency unless it is slower than the operation.
func guard(rt route.Route, op httpapi.HandlerFunc, o options) httpapi.HandlerFunc {
	if rt.Public {
		return op
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		e, _ := lambdahttp.Event(r.Context())
		var ctx map[string]any
		if e.RequestContext.Authorizer != nil {
			ctx = e.RequestContext.Authorizer.Lambda
		}
		p, reason, ok := principal.Decode(ctx)
		if !ok {
			return Unauthenticated(reason)
		}
		if o.keyUse != nil && p.Credential == principal.APIKey {
			ctx := context.WithoutCancel(r.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := o.keyUse(ctx, p); err != nil {
					o.log.WarnContext(ctx, "api key use not recorded", "key", p.CredentialID, "err", err)
				}
			}()
			defer func() { <-done }()
		}
		if !p.Can(rt.Permission) && (!rt.Self || e.PathParameters["id"] != p.User) {
			return problem.Forbidden(fmt.Sprintf("This action needs the %q permission.", rt.Permission))
		}
		if rt.People && p.Kind == "service" {
			return problem.New(http.StatusForbidden, "service_user", "Service users are API-only: this route is for persons.")
		}
		return op(w, r.WithContext(principal.With(r.Context(), p)))
	}
}

// Unauthenticated is the 401 problem for a request whose credential was
// refused for reason (a problem code such as "missing_token").
func Unauthenticated(reason string) *problem.Problem {
	if reason == "unavailable" {
		return problem.Unavailable() // the authorizer could not reach the store
	}
	details := map[string]string{
		"missing_token": "This route needs an Authorization: Bearer header.",
		"invalid_token": "The token is unknown, expired or revoked.",
	}
	d, ok := details[reason]
	if !ok {
		reason, d = "invalid_token", details["invalid_token"]
	}
	return problem.Unauthorized(reason, d)
}

// Fallback answers a request no route matches: 405 with Allow when the path
// exists under other methods, 404 otherwise.
func Fallback(w http.ResponseWriter, r *http.Request) error {
	allowed := Allowed(r.URL.Path)
	if len(allowed) == 0 {
		return problem.NotFound("No route matches " + r.URL.Path + ".")
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	return problem.New(http.StatusMethodNotAllowed, "method_not_allowed",
		fmt.Sprintf("%s is not allowed on %s.", r.Method, r.URL.Path))
}

// Allowed returns the methods the route table serves on path.
func Allowed(path string) []string {
	var out []string
	for _, rt := range route.All() {
		if Match(rt.Path, path) && !slices.Contains(out, rt.Method) {
			out = append(out, rt.Method)
		}
	}
	slices.Sort(out)
	return out
}

// Match reports whether path matches a route path pattern, in which a
// {name} segment matches any one non-empty segment.
func Match(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}
