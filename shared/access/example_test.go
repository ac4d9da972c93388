package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
)

// An application's Lambda behind Guichet's authorizer reads the principal
// from its event and checks it.
func ExampleFromEvent() {
	handler := func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		p, err := access.FromEvent(e)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusUnauthorized}, nil
		}
		if !p.Can("projects:write") || !p.InUnit(e.PathParameters["unit"]) {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusForbidden}, nil
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: "hello " + p.User}, nil
	}
	// What API Gateway hands it once Guichet's authorizer has run.
	b, _ := json.Marshal(access.Principal{Version: access.Version, Organization: access.Organization{ID: "org_1", Code: "acme"},
		User: "usr_1", Permissions: []string{"projects:write"}, Units: access.Units{List: []string{"unt_a"}}})
	ev := func(unit string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"unit": unit},
			RequestContext: events.APIGatewayV2HTTPRequestContext{Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: map[string]any{access.ContextKey: string(b)}}}}
	}
	for _, unit := range []string{"unt_a", "unt_b"} {
		res, _ := handler(context.Background(), ev(unit))
		fmt.Println(res.StatusCode, res.Body)
	}
	// Output:
	// 200 hello usr_1
	// 403
}

// An application served over HTTP (behind `make run`'s gateway) wraps its
// handlers.
func ExampleRequire() {
	mux := http.NewServeMux()
	mux.Handle("POST /projects", access.Require("projects:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := access.FromContext(r.Context())
		fmt.Fprintf(w, "created by %s of %s", p.User, p.Organization.Code)
	})))
	h, _ := access.Principal{Version: access.Version, Organization: access.Organization{ID: "org_1", Code: "acme"},
		User: "usr_1", Permissions: []string{"projects:write"}}.HeaderValue()
	for _, header := range []string{h, ""} {
		r := httptest.NewRequest("POST", "/projects", nil)
		if header != "" {
			r.Header.Set(access.Header, header)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// 200 text/plain; charset=utf-8
	// 401 application/problem+json
}

// A backend outside API Gateway verifies the access tokens itself, with
// the issuer's JWKS; Require reads the principal Bearer found.
func ExampleBearer() {
	v, err := access.NewVerifier("https://id.acme.example", "https://id.acme.example")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /projects", access.Require("projects:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := access.FromContext(r.Context())
		fmt.Fprintf(w, "created by %s of %s", p.User, p.Organization.Code)
	})))
	h := access.Bearer(v)(mux) // http.ListenAndServe(":3000", h)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/projects", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer
}
