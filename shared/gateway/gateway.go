// Package gateway is a local stand-in for API Gateway's HTTP API: for each
// request it finds the route in the route table, runs the authorizer's
// handler for authorized routes, builds the payload v2 event with the
// authorizer context, and invokes the function's handler — the same values
// lambda.Start receives in AWS. Events and responses go through JSON, as
// they do between API Gateway and Lambda. In front of the application
// (Options.Upstream) it checks the application's fast routes itself, as
// API Gateway's JWT authorizer does.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/httpapi"
	"github.com/guichet/guichet/shared/lambdahttp"
	"github.com/guichet/guichet/shared/route"
)

// MaxPayload is API Gateway's limit on a request body.
const MaxPayload = 10 << 20

// Gateway routes HTTP requests to function handlers.
type Gateway struct {
	functions  map[string]lambdahttp.Handler
	authorizer lambdahttp.Authorizer
	mux        *http.ServeMux
	log        *slog.Logger
	now        func() time.Time
	opts       Options
	handler    http.Handler
}

// New returns a gateway over the handlers of every function of the route
// table and the authorizer's.
func New(functions map[string]lambdahttp.Handler, authz lambdahttp.Authorizer, log *slog.Logger, now func() time.Time) (*Gateway, error) {
	return NewWith(functions, authz, log, now, Options{})
}

// NewWith is New with options: the application's routes and upstream,
// CORS.
func NewWith(functions map[string]lambdahttp.Handler, authz lambdahttp.Authorizer, log *slog.Logger, now func() time.Time, opts Options) (*Gateway, error) {
	g := &Gateway{functions: functions, authorizer: authz, mux: http.NewServeMux(), log: log, now: now, opts: opts}
	for _, rt := range append(route.All(), route.Fallback) {
		if functions[rt.Function] == nil {
			return nil, fmt.Errorf("gateway: no handler for function %q", rt.Function)
		}
	}
	for _, rt := range route.All() {
		g.mux.Handle(rt.Pattern(), g.serve(rt))
	}
	g.mux.Handle("/", g.serve(route.Fallback))
	if opts.Upstream != nil {
		if err := g.front(opts.App, opts.Upstream); err != nil {
			return nil, err
		}
	}
	g.handler = g.cors(g.mux)
	return g, nil
}

// ServeHTTP serves one request as API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

func (g *Gateway) serve(rt route.Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := g.event(r, rt)
		if err != nil {
			gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		if !rt.Public {
			res, ok := g.admit(w, r, e, true)
			if !ok {
				return
			}
			e.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: res.Context}
		}
		var in events.APIGatewayV2HTTPRequest
		if err := roundTrip(e, &in); err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		out, err := g.functions[rt.Function](r.Context(), in)
		if err != nil {
			g.log.ErrorContext(r.Context(), "gateway: function failed", "function", rt.Function, "err", err)
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		var res events.APIGatewayV2HTTPResponse
		if err := roundTrip(out, &res); err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		write(w, res)
	})
}

func (g *Gateway) authorize(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	req := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST",
		RouteArn:              "arn:aws:execute-api:local:000000000000:local/$default/" + strings.Replace(e.RouteKey, " ", "", 1),
		RouteKey:              e.RouteKey,
		RawPath:               e.RawPath,
		RawQueryString:        e.RawQueryString,
		Cookies:               e.Cookies,
		Headers:               e.Headers,
		QueryStringParameters: e.QueryStringParameters,
		RequestContext:        e.RequestContext,
		PathParameters:        e.PathParameters,
	}
	if a := e.Headers["authorization"]; a != "" {
		req.IdentitySource = []string{a}
	}
	var in events.APIGatewayV2CustomAuthorizerV2Request
	if err := roundTrip(req, &in); err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	res, err := g.authorizer(ctx, in)
	if err != nil {
		return res, err
	}
	var out events.APIGatewayV2CustomAuthorizerSimpleResponse
	return out, roundTrip(res, &out)
}

// event builds the payload v2 event of r for route rt.
func (g *Gateway) event(r *http.Request, rt route.Route) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil || len(body) > MaxPayload {
		return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("gateway: body too large or unreadable")
	}
	now := g.now().UTC()
	key := rt.Key()
	if rt.Method == "" {
		key = "$default"
	}
	e := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       key,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: key, AccountID: "000000000000", Stage: "$default",
			RequestID: requestID(), APIID: "local", DomainName: r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto,
				SourceIP: httpapi.ClientIP(r.RemoteAddr), UserAgent: r.UserAgent(),
			},
		},
	}
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						e.Cookies = append(e.Cookies, c)
					}
				}
			}
			continue
		}
		e.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		e.Headers["host"] = r.Host
	}
	if q := r.URL.Query(); len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			e.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	for _, name := range params(rt.Path) {
		if e.PathParameters == nil {
			e.PathParameters = map[string]string{}
		}
		e.PathParameters[name] = r.PathValue(name)
	}
	if len(body) > 0 {
		if utf8.Valid(body) && textual(r.Header.Get("Content-Type")) {
			e.Body = string(body)
		} else {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return e, nil
}

// textual says whether API Gateway passes a body of this type as text.
func textual(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") ||
		strings.Contains(ct, "xml") || strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

// params returns the names of the {name} segments of a route path.
func params(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimRight(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "+"))
		}
	}
	return out
}

func write(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) {
	h := w.Header()
	for k, v := range res.Headers {
		h.Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	if res.StatusCode == 0 {
		res.StatusCode = http.StatusOK
	}
	w.WriteHeader(res.StatusCode)
	w.Write(body)
}

// gatewayError answers as API Gateway does when it fails itself.
func gatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}

func roundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("gateway: marshal %T: %w", in, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("gateway: unmarshal %T: %w", out, err)
	}
	return nil
}

func requestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// admit runs the authorizer on e as API Gateway does for a route with it:
// its own 401 when the authorizer has an identity source the request
// lacks (a route that needs a credential), 500 when the authorizer fails,
// 403 when it denies. ok is false when it has answered w.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, e events.APIGatewayV2HTTPRequest, needsCredential bool) (events.APIGatewayV2CustomAuthorizerSimpleResponse, bool) {
	if g.opts.IdentitySource && needsCredential && e.Headers["authorization"] == "" {
		gatewayError(w, http.StatusUnauthorized, "Unauthorized")
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, false
	}
	res, err := g.authorize(r.Context(), e)
	if err != nil {
		g.log.ErrorContext(r.Context(), "gateway: authorizer failed", "err", err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return res, false
	}
	if !res.IsAuthorized {
		gatewayError(w, http.StatusForbidden, "Forbidden")
		return res, false
	}
	return res, true
}
