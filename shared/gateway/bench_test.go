package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// report adds DynamoDB calls per operation to a benchmark's figures.
func report(b *testing.B, e *apitest.Env) {
	b.ReportMetric(float64(e.Calls())/float64(b.N), "ddb-calls/op")
	b.ReportMetric(float64(e.Counters[route.Authorizer].Calls())/float64(b.N), "authz-calls/op")
}

// BenchmarkAuthorizer measures an authorized request through the local
// gateway: the authorizer's one GetItem plus the cheapest authorized
// route (GET /v1/me, two reads).
func BenchmarkAuthorizer(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b)
	e.StartBench(b)
	for range b.N {
		if r := e.Do("GET", "/v1/me", tok.AccessToken, nil); r.Status != 200 {
			b.Fatalf("status %d", r.Status)
		}
	}
	report(b, e)
	e.ReportFloor(b, route.Profile, "GET", "/v1/me", tok.AccessToken, nil)
}

// BenchmarkLogin measures a successful login through the local gateway;
// argon2id (19 MiB, t=2) dominates it by design.
func BenchmarkLogin(b *testing.B) {
	e := apitest.New(b, apitest.ProductionHashing)
	body := map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}
	e.StartBench(b)
	for range b.N {
		if r := e.Do("POST", "/v1/auth/login", "", body); r.Status != 200 {
			b.Fatalf("status %d", r.Status)
		}
	}
	report(b, e)
	e.ReportFloor(b, route.Auth, "POST", "/v1/auth/login", "", body)
}

// BenchmarkFunctions measures one representative request of each function
// through the local gateway.
func BenchmarkFunctions(b *testing.B) {
	cases := []struct {
		fn, method, path string
		body             any
		status           int
	}{
		{route.Profile, "GET", "/v1/me", nil, 200},
		{route.Organization, "GET", "/v1/organization", nil, 200},
		{route.Users, "GET", "/v1/users/{owner}", nil, 200},
		{route.Bulk, "GET", "/v1/users/export?format=jsonl", nil, 200},
		{route.Invitations, "GET", "/v1/invitations", nil, 200},
		{route.APIKeys, "GET", "/v1/me/api-keys", nil, 200},
		{route.Pages, "GET", "/login", nil, 200},
		{route.Auth, "POST", "/v1/auth/refresh", map[string]string{"refresh_token": "grf_" + strings.Repeat("A", 43)}, 401},
		{route.PasswordReset, "POST", "/v1/password-resets", map[string]string{"email": "nobody@example.com"}, 202},
	}
	for _, c := range cases {
		b.Run(c.fn, func(b *testing.B) {
			// A stack of its own: the embedded DynamoDB scans a partition
			// for each Query, so what another case wrote (audit entries)
			// would slow this one down.
			e := apitest.New(b)
			owner := e.LoginOwner(b).AccessToken
			e.Do("POST", "/v1/invitations", owner, map[string]any{"email": "bench@example.com", "role": "member"})
			path := strings.ReplaceAll(c.path, "{owner}", e.Org.Owner.ID)
			e.StartBench(b)
			for range b.N {
				if c.fn == route.PasswordReset {
					e.Clock.Advance(time.Hour) // stay under the reset rate limit
				}
				if r := e.Do(c.method, path, owner, c.body); r.Status != c.status {
					b.Fatalf("%d %s", r.Status, r.Body)
				}
			}
			b.ReportMetric(float64(e.Counters[c.fn].Calls())/float64(b.N), "ddb-calls/op")
			e.ReportFloor(b, c.fn, c.method, path, owner, c.body)
		})
	}
}

// BenchmarkAuthorizerHandler measures the authorizer's handler alone, as
// lambda.Start would call it, with the event the gateway builds for
// GET /v1/me; its floor is one GetItem of the same credential item through
// a client made as the functions' are.
func BenchmarkAuthorizerHandler(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b).AccessToken
	ev := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /v1/me", RawPath: "/v1/me",
		Headers: map[string]string{"authorization": "Bearer " + tok, "user-agent": "apitest"}, IdentitySource: []string{"Bearer " + tok}}
	ctx := context.Background()
	e.StartBench(b)
	for range b.N {
		res, err := e.Authorizer(ctx, ev)
		if err != nil || !res.IsAuthorized || res.Context["authenticated"] != "true" {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.ReportMetric(float64(e.Counters[route.Authorizer].Calls())/float64(b.N), "ddb-calls/op")
	e.ReportGetItemFloor(b, tok)
}

// BenchmarkApplicationRoute measures a request to an application's route
// that needs a permission, through the local gateway in front of an
// upstream that answers at once: the authorizer's one GetItem, as on
// Guichet's own routes, and nothing else of DynamoDB.
func BenchmarkApplicationRoute(b *testing.B) {
	e := apitest.New(b, func(c *config.Config) { c.AppRoutes = appRoutes })
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	u, _ := url.Parse(app.URL)
	gw, err := gateway.NewWith(e.Functions, e.Authorizer, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now,
		gateway.Options{App: appRoutes, Upstream: u})
	if err != nil {
		b.Fatal(err)
	}
	tok := e.LoginOwner(b).AccessToken
	e.StartBench(b)
	for range b.N {
		r := httptest.NewRequest("GET", "/projects/p1", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	report(b, e)
}

// BenchmarkFastApplicationRoute is BenchmarkApplicationRoute on a fast
// route: the local gateway checks the access token as API Gateway's JWT
// authorizer would (RS256 against the JWKS, claims, scope), with no
// authorizer and no DynamoDB call.
func BenchmarkFastApplicationRoute(b *testing.B) {
	e := apitest.New(b, func(c *config.Config) { c.AppRoutes = fastRoutes })
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	gw := fastFront(b, e, app.URL)
	tok := e.LoginOwner(b).AccessToken
	e.StartBench(b)
	for range b.N {
		r := httptest.NewRequest("GET", "/fast/projects/p1", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	report(b, e)
}

// BenchmarkRefresh measures token issuance per refresh through the local
// gateway: the refresh token's read, the user's, the role's, and one
// transaction, with the new access token signed (RS256) in process.
func BenchmarkRefresh(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b)
	e.StartBench(b)
	for range b.N {
		r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		if r.Status != 200 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(b, &tok)
	}
	report(b, e)
}

// BenchmarkAccessTokenVerify measures what strict mode adds to the
// authorizer's GetItem: the signature check (RS256, the default) of an access token
// against the cached JWKS and the parsing of its claims. Compare with
// BenchmarkAuthorizerHandler's getitem-floor.
func BenchmarkAccessTokenVerify(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b).AccessToken
	set := e.Config.JWTKeys.JWKS()
	b.ResetTimer()
	for range b.N {
		payload, err := signing.Verify(set, tok, signing.AccessToken)
		var c access.Claims
		if err != nil || json.Unmarshal(payload, &c) != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessTokenSign measures what issuing an access token adds to
// a login or a refresh: signing its claims (the principal included).
func BenchmarkAccessTokenSign(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b).AccessToken
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		b.Fatal(err)
	}
	claims := json.RawMessage(jws.UnsafePayloadWithoutVerification())
	b.ResetTimer()
	for range b.N {
		if _, err := e.Config.JWTKeys.Sign(claims, signing.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}
