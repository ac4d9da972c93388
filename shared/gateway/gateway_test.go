package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/signing"
)

// concrete turns a route path into a request path.
func concrete(path string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x1")
}

func TestEveryRouteIsServed(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	for _, rt := range route.All() {
		t.Run(rt.Key()+" is routed to its function", func(t *testing.T) {
			// A fresh session each time: one of the routes is logout.
			tok := e.LoginOwner(t)
			r := e.Do(rt.Method, concrete(rt.Path), tok.AccessToken, "{}")
			if r.Status == http.StatusMethodNotAllowed || r.Status >= 500 || (!rt.Public && r.Status == 401) {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if r.Status == http.StatusNotFound && strings.Contains(string(r.Body), "No route matches") {
				t.Fatalf("not routed: %s", r.Body)
			}
		})
	}
}

func TestAuthorizedRoutesRefuseBadTokens(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	forged := foreignToken(t, e)
	cases := []struct {
		name, header, code string
	}{
		{"no Authorization header", "", "missing_token"},
		{"a token signed by a foreign key", "Bearer " + forged, "invalid_token"},
		{"a raw gsn_ session token (no longer issued)", "Bearer gsn_" + strings.Repeat("A", 43), "invalid_token"},
		{"a truncated token", "Bearer " + tok.AccessToken[:20], "invalid_token"},
		{"a refresh token used as access token", "Bearer " + tok.RefreshToken, "invalid_token"},
		{"another scheme", "Basic " + tok.AccessToken, "invalid_token"},
		{"a token with a flipped character", "Bearer " + flip(tok.AccessToken, len(tok.AccessToken)-10), "invalid_token"},
	}
	for _, rt := range route.All() {
		if rt.Public {
			continue
		}
		for _, c := range cases {
			t.Run(rt.Key()+" refuses "+c.name, func(t *testing.T) {
				req := func() *apitest.Response {
					if c.header == "" {
						return e.Do(rt.Method, concrete(rt.Path), "", "{}")
					}
					return e.DoHeader(rt.Method, concrete(rt.Path), map[string]string{"Authorization": c.header}, "{}")
				}
				p := req().Problem(t, 401)
				if p.Code != c.code {
					t.Fatalf("code %q, want %q", p.Code, c.code)
				}
			})
		}
	}
}

func TestErrorsAreProblems(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"an unknown route is 404", "GET", "/v1/nothing-here", nil, 404, "not_found"},
		{"a wrong method is 405", "DELETE", "/v1/auth/login", nil, 405, "method_not_allowed"},
		{"a body over 64 KiB is 413", "POST", "/v1/auth/login", `{"login":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body_too_large"},
		{"invalid JSON is 400", "POST", "/v1/auth/login", `{"login":`, 400, "invalid_json"},
		{"an unknown field is 400", "POST", "/v1/auth/login", `{"login":"a","password":"b","admin":true}`, 400, "invalid_json"},
		{"a duplicate field is 400", "POST", "/v1/auth/login", `{"login":"a","password":"b","password":"c"}`, 400, "invalid_json"},
		{"a missing field is 422 naming it", "POST", "/v1/auth/login", `{"login":"a"}`, 422, "validation_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.Scan(t)
			r := e.Do(c.method, c.path, "", c.body)
			p := r.Problem(t, c.status)
			if p.Code != c.code {
				t.Fatalf("code %q, want %q", p.Code, c.code)
			}
			if c.status == 405 && r.Header.Get("Allow") != "POST" {
				t.Fatalf("Allow %q", r.Header.Get("Allow"))
			}
			if c.status == 422 && (len(p.Errors) != 1 || p.Errors[0].Field != "password") {
				t.Fatalf("field errors %+v", p.Errors)
			}
			if after := e.Scan(t); !slices.Equal(before, after) {
				t.Fatalf("the table changed:\n%v\n%v", before, after)
			}
		})
	}
}

func TestTheTableHoldsNoSecretInClear(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	var secrets []string
	for range 2 {
		tok := e.LoginOwner(t)
		var next apitest.Tokens
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).Decode(t, &next)
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken, next.AccessToken, next.RefreshToken)
	}
	secrets = append(secrets, apitest.OwnerPassword)
	var all strings.Builder
	for _, item := range e.Scan(t) {
		all.WriteString(item)
	}
	dump := all.String()
	for _, s := range secrets {
		// The body of a secret, without its prefix, must not appear either.
		if strings.Contains(dump, s) || (len(s) > 8 && strings.Contains(dump, s[4:])) {
			t.Fatalf("secret %s… found in the table", s[:8])
		}
	}
	if !strings.Contains(dump, apitest.HashPrefix(e.Config.Password)) {
		t.Fatal("no argon2id hash with the configured parameters in the table")
	}
}

// budget is the most DynamoDB calls each function may make for one request.
func TestDynamoDBCallsPerRequest(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t)
	foreign := foreignToken(t, e)
	cases := []struct {
		name              string
		do                func() *apitest.Response
		status            int
		authorizer, total int
	}{
		{"the authorizer reads one item per request", func() *apitest.Response {
			return e.Do("GET", "/v1/me", tok.AccessToken, nil)
		}, 200, 1, 3},
		{"a token of a foreign key costs the authorizer no read (the JWKS is cached)", func() *apitest.Response {
			return e.Do("GET", "/v1/me", foreign, nil)
		}, 401, 0, 0},
		{"a raw gsn_ token costs nothing: it is no longer accepted", func() *apitest.Response {
			return e.Do("GET", "/v1/me", "gsn_"+strings.Repeat("A", 43), nil)
		}, 401, 0, 0},
		{"a malformed token costs nothing", func() *apitest.Response {
			return e.Do("GET", "/v1/me", "garbage", nil)
		}, 401, 0, 0},
		{"login makes at most five calls (the attempt counted and released)", func() *apitest.Response {
			return e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword})
		}, 200, 0, 5},
		{"a failed login makes three calls", func() *apitest.Response {
			return e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": "nope-nope-nope"})
		}, 401, 0, 3},
		{"refresh makes three calls", func() *apitest.Response {
			return e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
		}, 200, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.ResetCounters()
			r := c.do()
			if r.Status != c.status {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if got := e.Counters[route.Authorizer].Calls(); got != c.authorizer {
				t.Errorf("authorizer made %d calls, want %d", got, c.authorizer)
			}
			if got := e.Calls(); got > c.total {
				t.Errorf("%d calls in all, budget %d", got, c.total)
			}
		})
	}
}

func TestFunctionsCallOnlyTheActionsOfTheirSpec(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	// Exercise every path of every function.
	tok := e.LoginOwner(t)
	e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": "wrong-wrong"})
	e.LoginOwner(t)
	e.Do("GET", "/v1/me", tok.AccessToken, nil)
	var next apitest.Tokens
	e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}).Decode(t, &next)
	e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken})
	other := e.LoginOwner(t)
	e.Do("POST", "/v1/auth/logout", other.AccessToken, nil)
	for _, spec := range route.Specs() {
		t.Run(fmt.Sprintf("%s calls only %v", spec.Name, spec.DynamoDB), func(t *testing.T) {
			for _, op := range e.OutsideSpec(spec.Name) {
				t.Errorf("%s called %s", spec.Name, op)
			}
		})
	}
}

// foreignToken is an access token like the stack's in every claim, signed
// by another key set.
func foreignToken(t *testing.T, e *apitest.Env) string {
	t.Helper()
	other, err := signing.NewKeySet(signing.ES256, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	jwt, _ := e.AccessToken(t, "ses_x", e.Clock.Now().Add(time.Minute))
	_, payload, _ := strings.Cut(jwt, ".")
	payload, _, _ = strings.Cut(payload, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.Sign(json.RawMessage(raw), signing.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// flip changes the character at i of a base64url token.
func flip(tok string, i int) string {
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
