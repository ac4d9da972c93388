package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/router"
)

// page reports whether req is for a hosted page's route.
func page(req *http.Request) bool {
	for _, rt := range route.All() {
		if rt.Page && rt.Method == req.Method && router.Match(rt.Path, req.URL.Path) {
			return true
		}
	}
	return false
}

// contract checks responses against the API's OpenAPI description with
// kin-openapi, a validator independent of the code that writes it.
type contract struct {
	router routers.Router
}

// The description is loaded, validated and routed once per test binary:
// every stack of the process shares the contract (it is read-only).
var shared struct {
	once     sync.Once
	contract *contract
	err      error
}

func loadContract() (*contract, error) {
	shared.once.Do(func() { shared.contract, shared.err = newContract() })
	return shared.contract, shared.err
}

func newContract() (*contract, error) {
	// Bodies that are not JSON are checked for their media type only.
	for _, ct := range []string{"application/pdf", "image/png", "image/jpeg", "image/svg+xml", "application/x-ndjson", "text/csv"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	raw, err := app.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// The description lists servers as "/"; match requests on any host.
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{router: r}, nil
}

// check validates res, the answer to req (whose body was body), and, when
// the server accepted req, req itself: a request the server takes must be
// one the description allows, or a client (or a validating proxy) held to
// the description could not send it. Requests that no route matches are
// the gateway's 404 and 405, which have no operation to check against.
func (c *contract) check(req *http.Request, body []byte, res *Response) error {
	if page(req) {
		return nil // the hosted pages are HTML for people, outside the API description
	}
	if strings.HasPrefix(req.URL.Path, "/_local/") {
		return nil // the local stand-ins (mail, export files) are not the API
	}
	route, params, err := c.router.FindRoute(req)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		if res.Status == http.StatusNotFound || res.Status == http.StatusMethodNotAllowed {
			return nil
		}
		return errors.New("the route is not described")
	}
	if err != nil {
		return err
	}
	if res.Status < 400 {
		accepted := req.Clone(context.Background())
		accepted.Body = io.NopCloser(bytes.NewReader(body))
		err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request: accepted, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
		if err != nil {
			return fmt.Errorf("the server accepted a request the description refuses: %w", err)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: res.Status,
		Header: res.Header,
		Body:   io.NopCloser(bytes.NewReader(res.Body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
		},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}
