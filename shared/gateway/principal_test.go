package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
)

// me reads GET /v1/me with tok: the principal, and the body whole.
func me(t *testing.T, e *apitest.Env, tok string) (access.Principal, map[string]any) {
	t.Helper()
	r := e.Do("GET", "/v1/me", tok, nil)
	var v struct {
		Principal access.Principal `json:"principal"`
	}
	r.Decode(t, &v)
	return v.Principal, r.Object(t, 200)
}

// TestMeAnswersThePrincipal: GET /v1/me holds the caller's principal
// beside its profile, for a session of each role, after a change of its
// units (without signing in again), for an API key and for a service user;
// a member reads its own user, and only its own.
func TestMeAnswersThePrincipal(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken

	t.Run("owner", func(t *testing.T) {
		p, body := me(t, e, owner)
		if p.Version != 1 || p.Organization != (access.Organization{ID: e.Org.Org.ID, Code: "acme", Name: "Acme"}) ||
			p.User != e.Org.Owner.ID || p.Kind != "person" || p.Role.ID != "owner" || p.Role.Name == "" ||
			!p.Can("users:write") || p.Credential.Kind != "session" || p.Credential.ID == "" || p.Credential.Expires == 0 {
			t.Fatalf("%+v", p)
		}
		// Today's fields stay as they were.
		if body["id"] != e.Org.Owner.ID || body["role"] != "owner" || body["organization"].(map[string]any)["code"] != "acme" {
			t.Fatalf("%v", body)
		}
	})

	member, tok := e.AddUserLogin(t, "member@acme.example", "member")
	t.Run("member reads its principal and its own user, not another's", func(t *testing.T) {
		p, _ := me(t, e, tok)
		if p.User != member.ID || p.Role.ID != "member" || p.Role.Name == "" || p.Can("users:read") {
			t.Fatalf("%+v", p)
		}
		if v := e.Do("GET", "/v1/users/"+member.ID, tok, nil).Object(t, 200); v["id"] != member.ID {
			t.Fatalf("%v", v)
		}
		e.Do("GET", "/v1/users/"+e.Org.Owner.ID, tok, nil).Problem(t, http.StatusForbidden)
		e.Do("PATCH", "/v1/users/"+member.ID, tok, map[string]string{"first_name": "X"}).Problem(t, http.StatusForbidden)
	})

	t.Run("units follow the user's change on the same session", func(t *testing.T) {
		unit := created(t, e, owner, "/v1/organization/units", map[string]any{"name": "HQ", "kind": "site"})["id"].(string)
		if r := e.Do("PATCH", "/v1/users/"+member.ID, owner, map[string]any{"all_units": false, "units": []string{unit}, "default_unit": unit}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		p, _ := me(t, e, tok)
		if p.Units.All || !slices.Equal(p.Units.List, []string{unit}) || p.DefaultUnit != unit || !p.InUnit(unit) || p.InUnit("unt_other") {
			t.Fatalf("%+v", p)
		}
		if p.Role.ID != "member" {
			t.Fatalf("a change of units changed the role: %+v", p.Role)
		}
		if r := e.Do("PATCH", "/v1/users/"+member.ID, owner, map[string]any{"all_units": true, "default_unit": ""}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if p, _ := me(t, e, tok); !p.Units.All || len(p.Units.List) != 0 || p.DefaultUnit != "" {
			t.Fatalf("%+v", p.Units)
		}
	})

	t.Run("a custom role is named", func(t *testing.T) {
		role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Clerks", "permissions": []string{"users:read"}})["id"].(string)
		if r := e.Do("PATCH", "/v1/users/"+member.ID, owner, map[string]any{"role": role}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if p, _ := me(t, e, tok); p.Role != (access.Role{ID: role, Name: "Clerks"}) || !slices.Equal(p.Permissions, []string{"users:read"}) {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("API key", func(t *testing.T) {
		key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "Reader", "client": "internal",
			"current_password": apitest.OwnerPassword, "scopes": []string{"organization:read"}})
		p, _ := me(t, e, key["key"].(string))
		c := p.Credential
		if c.Kind != "apikey" || c.ID != key["id"] || c.Client != "internal" || !slices.Equal(c.Scopes, []string{"organization:read"}) ||
			c.Expires != 0 || !slices.Equal(p.Permissions, []string{"organization:read"}) || p.User != e.Org.Owner.ID {
			t.Fatalf("%+v", p)
		}
	})

	t.Run("service user", func(t *testing.T) {
		svc := created(t, e, owner, "/v1/users", map[string]any{"kind": "service", "user_code": "SVC0001", "client": "internal", "role": "admin", "all_units": true})
		var tokens apitest.Tokens
		e.Do("POST", "/v1/auth/token", "", map[string]string{"organization": "acme", "user_code": "SVC0001", "password": svc["password"].(string)}).Decode(t, &tokens)
		p, _ := me(t, e, tokens.AccessToken)
		if p.Kind != "service" || p.Credential.Client != "internal" || !p.Units.All || p.User != svc["id"] || p.Organization.Code != "acme" {
			t.Fatalf("%+v", p)
		}
	})
}

// projects is an application's Lambda handler as the README shows it:
// FromEvent, then Can.
func projects(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p, err := access.FromEvent(e)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusUnauthorized}, nil
	}
	if !p.Can("users:write") {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusForbidden}, nil
	}
	body, _ := json.Marshal(map[string]string{"user": p.User, "org": p.Organization.Code})
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: string(body)}, nil
}

// TestApplicationLambdaReadsTheAuthorizerContext runs the authorizer on an
// application route's event as API Gateway would, hands its context to an
// application's Lambda handler in the v2 event, and checks what the
// handler read; the authorizer refuses the route without its permission.
func TestApplicationLambdaReadsTheAuthorizerContext(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	authorize := func(tok string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
		res, err := e.Authorizer(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST", RouteKey: "GET /projects/{id}", RawPath: "/projects/p1",
			Headers: map[string]string{"authorization": "Bearer " + tok}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := authorize(member); res.IsAuthorized {
		t.Fatalf("the member was let through: %+v", res)
	}
	res := authorize(owner)
	if !res.IsAuthorized {
		t.Fatalf("%+v", res)
	}
	// What Lambda hands the application: the context as JSON, the
	// client's principal header beside it (ignored).
	var ev events.APIGatewayV2HTTPRequest
	raw, _ := json.Marshal(events.APIGatewayV2HTTPRequest{RouteKey: "GET /projects/{id}",
		Headers: map[string]string{"x-guichet-principal": spoofed(t, e.Org.Org.ID)},
		RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "127.0.0.1",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: res.Context}}})
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	out, _ := projects(context.Background(), ev)
	if out.StatusCode != 200 || out.Body != `{"org":"acme","user":"`+e.Org.Owner.ID+`"}` {
		t.Fatalf("%d %s", out.StatusCode, out.Body)
	}
}
