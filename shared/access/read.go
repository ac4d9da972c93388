package access

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrNoPrincipal is the error of FromEvent and FromRequest for a request
// that carries no principal: an anonymous request to a public route, or a
// request that did not come through Guichet's authorizer.
var ErrNoPrincipal = errors.New("access: the request carries no principal")

// FromEvent returns the principal of an API Gateway v2 request: the
// authorizer context's ContextKey, as Guichet's authorizer set it; or, on
// a route of API Gateway's JWT authorizer (fast mode), the principal of
// the bearer token whose claims the authorizer put in the event (see
// fromJWT); or else the Header of a request the local gateway forwarded
// to a Lambda emulator on this machine (the event's domain is a loopback
// name or address; in AWS it never is, so a client cannot pass a Header of
// its own off as the principal on a route without Guichet's authorizer).
// It returns ErrNoPrincipal (perhaps wrapped) when the request has none,
// and another error when the principal is malformed or of a later Version
// than this package reads.
func FromEvent(e events.APIGatewayV2HTTPRequest) (Principal, error) {
	if a := e.RequestContext.Authorizer; a != nil && a.Lambda != nil {
		if v, ok := a.Lambda[ContextKey]; ok {
			s, ok := v.(string)
			if !ok {
				return Principal{}, fmt.Errorf("access: authorizer context %q: want a string, got %T", ContextKey, v)
			}
			return decode([]byte(s))
		}
		// Guichet's authorizer annotated the request and found nobody: a
		// header the client sent is not to be believed.
		return Principal{}, ErrNoPrincipal
	}
	if a := e.RequestContext.Authorizer; a != nil && a.JWT != nil {
		return fromJWT(a.JWT.Claims, headerOf(e.Headers, "authorization"))
	}
	if !loopback(e.RequestContext.DomainName) {
		return Principal{}, ErrNoPrincipal
	}
	for k, v := range e.Headers {
		if strings.EqualFold(k, Header) {
			return FromHeader(v)
		}
	}
	return Principal{}, ErrNoPrincipal
}

// fromJWT returns the principal of the bearer token in authorization,
// that API Gateway's JWT authorizer verified (signature, iss, aud, exp)
// and whose claims it put in the event, flattened to strings, where the
// principal, an object, is not readable. The token is read without
// checking its signature again: it is the very token the authorizer
// verified when its jti, sub, iss and exp are the claims', and its type
// is an access token's. That holds when the authorizer's identity source
// is the Authorization header: with another, a client could send a
// verified token there and a forged one with its four claims here.
func fromJWT(claims map[string]string, authorization string) (Principal, error) {
	tok, ok := bearer(authorization)
	if !ok {
		tok = strings.TrimSpace(authorization) // the identity source may be the bare token
	}
	parts := strings.Split(tok, ".")
	if tok == "" || len(parts) != 3 {
		return Principal{}, fmt.Errorf("%w: no bearer token beside the JWT authorizer's claims", ErrNoPrincipal)
	}
	var h struct {
		Type string `json:"typ"`
	}
	var c Claims
	if unpack(parts[0], &h) != nil || unpack(parts[1], &c) != nil {
		return Principal{}, fmt.Errorf("%w: the bearer token is not a JWT of access.Claims", ErrNoPrincipal)
	}
	exp, err := strconv.ParseInt(claims["exp"], 10, 64)
	if err != nil || c.ID == "" || c.Subject == "" || c.Issuer == "" ||
		c.ID != claims["jti"] || c.Subject != claims["sub"] || c.Issuer != claims["iss"] || c.Expiry != exp {
		return Principal{}, fmt.Errorf("%w: the bearer token is not the one the JWT authorizer verified", ErrNoPrincipal)
	}
	if !accessTokenType(h.Type) {
		return Principal{}, fmt.Errorf("%w: the bearer token's typ is %q, not %s", ErrNoPrincipal, h.Type, TokenType)
	}
	if err := c.Principal.check(); err != nil {
		return Principal{}, err
	}
	return c.Principal, nil
}

// unpack decodes a JWS part, base64url of JSON, into v.
func unpack(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// headerOf finds a header by its lower-case name; API Gateway lower-cases
// header names in v2 events, but a hand-made event may not.
func headerOf(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// loopback reports whether host (with or without a port) names this
// machine.
func loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// FromRequest returns the principal of a request: the one its context
// carries (Bearer put it there), or else the Header of a request forwarded
// by the local gateway (or by an adapter that puts the authorizer's
// principal in the Header). Only a gateway may set the header: Guichet's
// gateways replace any a client sends, so an application reads it only
// behind one: in AWS, a Lambda reads the event (FromEvent).
func FromRequest(r *http.Request) (Principal, error) {
	if p, ok := FromContext(r.Context()); ok {
		return p, nil
	}
	v := r.Header.Get(Header)
	if v == "" {
		return Principal{}, ErrNoPrincipal
	}
	return FromHeader(v)
}

// FromHeader decodes the value of Header: base64url, without padding, of
// the principal's JSON.
func FromHeader(v string) (Principal, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
	if err != nil {
		return Principal{}, fmt.Errorf("access: header %s: %w", Header, err)
	}
	return decode(b)
}

// HeaderValue is the value of Header carrying p.
func (p Principal) HeaderValue() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("access: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decode(b []byte) (Principal, error) {
	var p Principal
	if err := json.Unmarshal(b, &p); err != nil {
		return Principal{}, fmt.Errorf("access: principal: %w", err)
	}
	if err := p.check(); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// check refuses a principal this package cannot read: of a later Version,
// or without its version, user or organization.
func (p Principal) check() error {
	switch {
	case p.Version > Version:
		return fmt.Errorf("access: principal of version %d: this package reads version %d", p.Version, Version)
	case p.Version < 1 || p.User == "" || p.Organization.ID == "":
		return errors.New("access: principal without version, user or organization")
	}
	return nil
}

// Can reports whether p holds permission perm.
func (p Principal) Can(perm string) bool {
	return perm != "" && slices.Contains(p.Permissions, perm)
}

// InUnit reports whether p may act in unit: all units, or unit is among
// those given (Expanded, which holds List's descendants, or List itself).
func (p Principal) InUnit(unit string) bool {
	if unit == "" {
		return false
	}
	return p.Units.All || slices.Contains(p.Units.Expanded, unit) || slices.Contains(p.Units.List, unit)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries: the one Require or
// Authenticated put in a request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Authenticated is net/http middleware for a handler behind the local
// gateway, an adapter or Bearer: a request without a principal
// (FromRequest) is answered 401 as problem+json; otherwise next runs with
// the principal in the request's context (FromContext).
func Authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := FromRequest(r)
		if err != nil {
			writeProblem(w, http.StatusUnauthorized, "unauthenticated", "This route needs a valid credential.")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Require is Authenticated for a handler that also needs permission perm:
// a principal without it is answered 403 as problem+json.
func Require(perm string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, _ := FromContext(r.Context()); !p.Can(perm) {
				writeProblem(w, http.StatusForbidden, "forbidden", fmt.Sprintf("This action needs the %q permission.", perm))
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// writeProblem answers an RFC 9457 problem with Guichet's code convention.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:guichet:problem:" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail,
	})
}
