package access_test

import (
	"context"
	"fmt"
	"net/http"

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
	_ = handler // lambda.Start(handler)
}

// An application served over HTTP (behind `make run`'s gateway) wraps its
// handlers.
func ExampleRequire() {
	mux := http.NewServeMux()
	mux.Handle("POST /projects", access.Require("projects:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := access.FromContext(r.Context())
		fmt.Fprintf(w, "created by %s of %s", p.User, p.Organization.Code)
	})))
	mux.Handle("GET /projects", access.Authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	_ = http.ListenAndServe // http.ListenAndServe("127.0.0.1:3000", mux)
}
