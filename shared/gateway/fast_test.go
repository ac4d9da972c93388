package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-jose/go-jose/v4"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
)

// fastRoutes are application routes in fast mode, beside a strict one.
var fastRoutes = []route.AppRoute{
	{Method: "GET", Path: "/fast/projects/{id}", Access: route.Permission, Permission: "users:write", Mode: route.Fast},
	{Method: "POST", Path: "/fast/files/{proxy+}", Access: route.Authenticated, Mode: route.Fast},
	{Method: "GET", Path: "/projects/{id}", Access: route.Permission, Permission: "users:write"},
}

// fastApp answers what it received, on the routes of fastRoutes, with
// package access's middleware.
func fastApp(calls *atomic.Int32) http.Handler {
	answer := func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Body: string(b), Raw: r.Header.Get(access.Header)}
		if p, ok := access.FromContext(r.Context()); ok {
			s.Principal = &p
		}
		json.NewEncoder(w).Encode(s)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /fast/projects/{id}", access.Require("users:write")(http.HandlerFunc(answer)))
	mux.Handle("GET /projects/{id}", access.Require("users:write")(http.HandlerFunc(answer)))
	mux.Handle("POST /fast/files/{path...}", access.Authenticated(http.HandlerFunc(answer)))
	return mux
}

// fastFront is a local gateway over e in front of upstream with
// fastRoutes, checking fast routes against e's issuer, audience and JWKS.
func fastFront(t testing.TB, e *apitest.Env, upstream string) *gateway.Gateway {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	set := e.Config.JWTKeys.JWKS()
	gw, err := gateway.NewWith(e.Functions, e.Authorizer, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now,
		gateway.Options{App: fastRoutes, Upstream: u, JWT: gateway.JWTAuthorizer{Issuer: e.Config.PublicURL, Audience: e.Config.Audience(),
			Keys: func(context.Context) (jose.JSONWebKeySet, error) { return set, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// resigned is tok's claims changed by change, signed by ks.
func resigned(t *testing.T, ks signing.KeySet, tok string, change func(map[string]any)) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		t.Fatal(err)
	}
	change(c)
	out, err := ks.Sign(c, signing.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFastApplicationRoutes runs fast routes behind the local gateway as
// API Gateway's JWT authorizer would check them: the token alone decides,
// with no DynamoDB call; a revoked session's token goes on opening fast
// routes until it expires, while strict routes refuse it at once.
func TestFastApplicationRoutes(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = fastRoutes })
	var calls atomic.Int32
	app := httptest.NewServer(fastApp(&calls))
	defer app.Close()
	srv := httptest.NewServer(fastFront(t, e, app.URL))
	defer srv.Close()
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")

	t.Run("a valid token reaches the application with its principal, without a DynamoDB call", func(t *testing.T) {
		db, counted := e.Faults.Attempts(), e.Calls()
		for range 3 {
			s := call(t, "GET", srv.URL+"/fast/projects/p1", owner, nil, "").seen(t)
			if p := s.Principal; p == nil || p.User != e.Org.Owner.ID || p.Organization.ID != e.Org.Org.ID || !p.Can("users:write") ||
				p.Credential.Kind != "session" {
				t.Fatalf("principal %+v", s.Principal)
			}
			s = call(t, "POST", srv.URL+"/fast/files/a/b", member, map[string]string{"Content-Type": "text/plain"}, "the body").seen(t)
			if s.Body != "the body" || s.Path != "/fast/files/a/b" || s.Principal == nil || s.Principal.Role.ID != "member" {
				t.Fatalf("%+v", s)
			}
		}
		if n := e.Faults.Attempts() - db; n != 0 {
			t.Fatalf("%d DynamoDB requests for 6 fast requests, want 0", n)
		}
		if n := e.Calls() - counted; n != 0 {
			t.Fatalf("%d DynamoDB calls by the functions for 6 fast requests, want 0", n)
		}
	})
	t.Run("a store that fails does not matter", func(t *testing.T) {
		e.Faults.Fail("GetItem", "Query", "BatchGetItem")
		defer e.Faults.Clear()
		call(t, "GET", srv.URL+"/fast/projects/p1", owner, nil, "").seen(t)
		call(t, "GET", srv.URL+"/projects/p1", owner, nil, "").refused(t, 500, "Internal Server Error")
	})
	t.Run("a token whose scope lacks the permission: 403", func(t *testing.T) {
		before := calls.Load()
		call(t, "GET", srv.URL+"/fast/projects/p1", member, nil, "").refused(t, 403, "Forbidden")
		noScope := resigned(t, *e.Config.JWTKeys, owner, func(c map[string]any) { delete(c, "scope") })
		call(t, "GET", srv.URL+"/fast/projects/p1", noScope, nil, "").refused(t, 403, "Forbidden")
		if calls.Load() != before {
			t.Fatal("the application ran for a refused request")
		}
	})
	t.Run("no valid token: 401", func(t *testing.T) {
		other, err := signing.NewKeySet(signing.ES256, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		expired, _ := e.AccessToken(t, "ses_x", e.Clock.Now().Add(-time.Second))
		key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "App", "client": "internal",
			"current_password": apitest.OwnerPassword, "scopes": []string{"users:write"}})["key"].(string)
		before := calls.Load()
		for name, tok := range map[string]string{
			"none":               "",
			"not a JWT":          "not-a-jwt",
			"an API key":         key,
			"forged":             resigned(t, other, owner, func(map[string]any) {}),
			"expired":            expired,
			"wrong audience":     resigned(t, *e.Config.JWTKeys, owner, func(c map[string]any) { c["aud"] = []string{"https://other.example"} }),
			"wrong issuer":       resigned(t, *e.Config.JWTKeys, owner, func(c map[string]any) { c["iss"] = "https://evil.example" }),
			"not yet valid":      resigned(t, *e.Config.JWTKeys, owner, func(c map[string]any) { c["nbf"] = e.Clock.Now().Add(time.Minute).Unix() }),
			"tampered signature": owner[:len(owner)-8] + "AAAAAAAA",
		} {
			t.Run(name, func(t *testing.T) {
				call(t, "GET", srv.URL+"/fast/projects/p1", tok, nil, "").refused(t, 401, "Unauthorized")
				call(t, "POST", srv.URL+"/fast/files/a", tok, nil, "").refused(t, 401, "Unauthorized")
			})
		}
		if calls.Load() != before {
			t.Fatal("the application ran for a refused request")
		}
	})
	t.Run("a forged principal header is replaced by the token's", func(t *testing.T) {
		s := call(t, "POST", srv.URL+"/fast/files/a", member, map[string]string{access.Header: spoofed(t, e.Org.Org.ID)}, "").seen(t)
		if s.Principal == nil || s.Principal.User == "usr_forged" || s.Principal.Role.ID != "member" {
			t.Fatalf("%+v", s.Principal)
		}
	})
	t.Run("a path with an encoded slash is not forwarded", func(t *testing.T) {
		call(t, "GET", srv.URL+"/fast/projects/a%2Fb", owner, nil, "").refused(t, 404, "Not Found")
	})
	t.Run("a revoked session opens fast routes until its token expires, strict ones no more", func(t *testing.T) {
		sess := e.LoginOwner(t).AccessToken
		call(t, "GET", srv.URL+"/projects/p1", sess, nil, "").seen(t)
		if r := e.Do("POST", "/v1/auth/logout", sess, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		call(t, "GET", srv.URL+"/projects/p1", sess, nil, "").refused(t, 403, "Forbidden")
		call(t, "GET", srv.URL+"/fast/projects/p1", sess, nil, "").seen(t)
		e.Clock.Advance(e.Config.AccessTTL - time.Second)
		call(t, "GET", srv.URL+"/fast/projects/p1", sess, nil, "").seen(t)
		e.Clock.Advance(time.Second)
		call(t, "GET", srv.URL+"/fast/projects/p1", sess, nil, "").refused(t, 401, "Unauthorized")
	})
}

// TestTheAuthorizerDeniesAFastRoute: in AWS the Lambda authorizer is not
// attached to fast routes; invoked for one all the same, it denies, and
// reads nothing.
func TestTheAuthorizerDeniesAFastRoute(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = fastRoutes })
	tok := e.LoginOwner(t).AccessToken
	ev := func(key string) events.APIGatewayV2CustomAuthorizerV2Request {
		return events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: key, RawPath: "/p",
			Headers: map[string]string{"authorization": "Bearer " + tok}, IdentitySource: []string{"Bearer " + tok}}
	}
	db := e.Faults.Attempts()
	res, err := e.Authorizer(context.Background(), ev(fastRoutes[0].Key()))
	if err != nil || res.IsAuthorized || res.Context[access.ContextKey] != nil {
		t.Fatalf("fast route: %v %+v", err, res)
	}
	if n := e.Faults.Attempts() - db; n != 0 {
		t.Fatalf("%d DynamoDB requests, want 0", n)
	}
	if res, err := e.Authorizer(context.Background(), ev(fastRoutes[2].Key())); err != nil || !res.IsAuthorized {
		t.Fatalf("strict route: %v %+v", err, res)
	}
}

// TestAFastRouteNeedsKeys: a gateway fronting a fast route without a
// JWKS to check its tokens does not start.
func TestAFastRouteNeedsKeys(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u, _ := url.Parse("http://127.0.0.1:1")
	_, err := gateway.NewWith(e.Functions, e.Authorizer, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now,
		gateway.Options{App: fastRoutes, Upstream: u})
	if err == nil {
		t.Fatal("the gateway started")
	}
}

// TestAFastRouteRefusesES256LikeAPIGateway: API Gateway's HTTP API JWT
// authorizer verifies RSA signatures only, so the local gateway refuses a
// deployment's ES256 tokens (JWT_ALGORITHM=ES256) on fast routes, while
// strict routes take them.
func TestAFastRouteRefusesES256LikeAPIGateway(t *testing.T) {
	t.Parallel()
	ec, err := signing.NewKeySet(signing.ES256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes, c.JWTKeys, c.JWTAlgorithm = fastRoutes, &ec, signing.ES256 })
	var calls atomic.Int32
	app := httptest.NewServer(fastApp(&calls))
	defer app.Close()
	srv := httptest.NewServer(fastFront(t, e, app.URL))
	defer srv.Close()
	owner := e.LoginOwner(t).AccessToken
	call(t, "GET", srv.URL+"/fast/projects/p1", owner, nil, "").refused(t, 401, "Unauthorized")
	if s := call(t, "GET", srv.URL+"/projects/p1", owner, nil, "").seen(t); s.Principal == nil {
		t.Fatal("the strict route did not take the ES256 token")
	}
}
