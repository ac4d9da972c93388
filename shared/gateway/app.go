package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/route"
)

// Options are what the local gateway does besides Guichet's routes.
type Options struct {
	// App are the application's routes (APP_ROUTES), forwarded to
	// Upstream once the authorizer admits them; ignored without Upstream.
	App []route.AppRoute
	// Upstream is the developer's application server (APP_UPSTREAM).
	Upstream *url.URL
	// CORSOrigins are the browser origins allowed to call the API, as the
	// stack's corsOrigins (CORS_ORIGINS); empty turns CORS off.
	CORSOrigins []string
	// IdentitySource mirrors an authorizer with an identity source (the
	// stack's authorizer cache): API Gateway then answers a request to an
	// authorized route without an Authorization header 401 itself, before
	// the authorizer runs.
	IdentitySource bool
	// JWT is what the application's fast routes accept, checked here as
	// the stack's JWT authorizer does; needed when App has a fast route.
	JWT JWTAuthorizer
}

// pattern is the net/http ServeMux pattern of an API Gateway route:
// {name+} (greedy) becomes {name...}, ANY any method.
func pattern(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") {
			segs[i] = "{" + strings.TrimSuffix(s[1:], "+}") + "...}"
		}
	}
	p := strings.Join(segs, "/")
	if method == "ANY" {
		return p
	}
	return method + " " + p
}

// front registers the application's routes, each forwarded to upstream.
func (g *Gateway) front(routes []route.AppRoute, upstream *url.URL) (err error) {
	defer func() {
		// ServeMux panics on patterns that conflict.
		if r := recover(); r != nil {
			err = fmt.Errorf("gateway: APP_ROUTES: %v", r)
		}
	}()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
			if base := strings.TrimRight(upstream.Path, "/"); base != "" {
				pr.Out.URL.Path = base + pr.In.URL.Path
				pr.Out.URL.RawPath = ""
			}
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.SetXForwarded()
			// The principal header is the gateway's alone: whatever the
			// client sent goes, and the authorizer's replaces it. So do
			// look-alikes with _ for -, which CGI and WSGI servers read as
			// the same header.
			for k := range pr.Out.Header {
				if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), access.Header) {
					delete(pr.Out.Header, k)
				}
			}
			if v := pr.In.Header.Get(principalHeader); v != "" {
				pr.Out.Header.Set(access.Header, v)
			}
			pr.Out.Header.Del(principalHeader)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.log.ErrorContext(r.Context(), "gateway: application upstream failed", "err", err)
			gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		},
	}
	for _, ar := range routes {
		h := g.serveApp(ar, proxy)
		if ar.IsFast() {
			if g.opts.JWT.Keys == nil {
				return fmt.Errorf("gateway: APP_ROUTES: route %q is fast, and no JWKS verifies its tokens", ar.Key())
			}
			h = g.serveFast(ar, proxy)
		}
		g.mux.Handle(pattern(ar.Method, ar.Path), h)
	}
	return nil
}

// principalHeader carries the principal from serveApp to the proxy's
// Rewrite inside this process; Rewrite removes it. A client's value of it
// is dropped before the authorizer runs.
const principalHeader = "X-Guichet-Local-Principal"

// serveApp runs the authorizer on a request to the application's route ar
// as API Gateway does, and forwards what it admits with the principal.
func (g *Gateway) serveApp(ar route.AppRoute, proxy http.Handler) http.Handler {
	rt := route.Route{Method: ar.Method, Path: ar.Path}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := appRequest(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		e, err := g.event(r, rt)
		if err != nil {
			gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		res, ok := g.admit(w, r, e, ar.Access != route.Public)
		if !ok {
			return
		}
		out := r.Clone(r.Context())
		out.Body = io.NopCloser(bytes.NewReader(body))
		if s, ok := res.Context[access.ContextKey].(string); ok && s != "" {
			out.Header.Set(principalHeader, base64.RawURLEncoding.EncodeToString([]byte(s)))
		}
		proxy.ServeHTTP(w, out)
	})
}

// appRequest refuses, as API Gateway does, a request to an application
// route that no authorizer should see, and returns its body; ok is false
// when it has answered w. It drops the client's principalHeader.
func appRequest(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	// The mux matches /a%2Fb as one segment, the upstream reads /a/b: such
	// a path could reach, under a looser route, one that needs more. None
	// is forwarded.
	if strings.Contains(strings.ToLower(r.URL.EscapedPath()), "%2f") {
		gatewayError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	r.Header.Del(principalHeader)
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil || len(body) > MaxPayload {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return nil, false
	}
	return body, true
}

// cors answers preflight requests from allowed origins and adds the CORS
// headers to the answers to them, as the stack's CorsPreflight does.
func (g *Gateway) cors(next http.Handler) http.Handler {
	if len(g.opts.CORSOrigins) == 0 {
		return next
	}
	methods := []string{}
	add := func(m string) {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	for _, r := range route.All() {
		add(r.Method)
	}
	if g.opts.Upstream != nil {
		for _, r := range g.opts.App {
			if r.Method == "ANY" {
				for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
					add(m)
				}
			} else {
				add(r.Method)
			}
		}
	}
	allowed := func(o string) bool {
		return slices.Contains(g.opts.CORSOrigins, o) || slices.Contains(g.opts.CORSOrigins, "*")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed(origin) {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
				h.Set("Access-Control-Allow-Headers", "authorization,content-type")
				h.Set("Access-Control-Max-Age", "3600")
				h.Add("Vary", "Origin")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin != "" && allowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "retry-after")
			w.Header().Add("Vary", "Origin")
		}
		next.ServeHTTP(w, r)
	})
}
