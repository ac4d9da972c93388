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
	"sync/atomic"
	"testing"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/gateway"
	"github.com/guichet/guichet/shared/route"
)

// appRoutes are the tiny application's routes, as APP_ROUTES would list
// them.
var appRoutes = []route.AppRoute{
	{Method: "GET", Path: "/projects/{id}", Access: route.Permission, Permission: "users:write"},
	{Method: "POST", Path: "/files/{proxy+}", Access: route.Authenticated},
	{Method: "GET", Path: "/status", Access: route.Public},
}

// seen is what the tiny application received.
type seen struct {
	Method, Path, Query, Body string
	Principal                 *access.Principal
	// Raw is the principal header as received.
	Raw string
}

// tinyApp is an application built on package access alone: its net/http
// middleware on the routes that need a principal, FromRequest on the
// public one. It answers what it received.
func tinyApp(calls *atomic.Int32) http.Handler {
	answer := func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(b), Raw: r.Header.Get(access.Header)}
		if p, ok := access.FromContext(r.Context()); ok {
			s.Principal = &p
		} else if p, err := access.FromRequest(r); err == nil {
			s.Principal = &p
		}
		json.NewEncoder(w).Encode(s)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /projects/{id}", access.Require("users:write")(http.HandlerFunc(answer)))
	mux.Handle("POST /files/{path...}", access.Authenticated(http.HandlerFunc(answer)))
	mux.HandleFunc("GET /status", answer)
	return mux
}

// front starts a local gateway over e's functions and authorizer with
// opts, in front of upstream.
func front(t *testing.T, e *apitest.Env, upstream string, opts gateway.Options) *httptest.Server {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	opts.App, opts.Upstream = appRoutes, u
	gw, err := gateway.NewWith(e.Functions, e.Authorizer, slog.New(slog.NewJSONHandler(io.Discard, nil)), e.Clock.Now, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, method, url, token string, header map[string]string, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

func (a answer) seen(t *testing.T) seen {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d %s, want 200 from the application", a.status, a.body)
	}
	var s seen
	if err := json.Unmarshal([]byte(a.body), &s); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	return s
}

func (a answer) refused(t *testing.T, status int, message string) {
	t.Helper()
	if a.status != status || strings.TrimSpace(a.body) != `{"message":"`+message+`"}` {
		t.Fatalf("got %d %s, want API Gateway's %d %s", a.status, a.body, status, message)
	}
}

// spoofed is a principal a client makes up: the owner's permissions for
// a user of its own.
func spoofed(t *testing.T, org string) string {
	v, err := access.Principal{Version: access.Version, Organization: access.Organization{ID: org, Code: "acme"},
		User: "usr_forged", Kind: "person", Role: access.Role{ID: "owner"},
		Permissions: []string{"users:write"}, Units: access.Units{All: true}}.HeaderValue()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestApplicationRoutesBehindTheAuthorizer runs the tiny application
// behind the local gateway: a route that needs a permission is refused
// before the application runs without it, allowed with it, and refused
// on the next request after a revocation or a change of role; a principal
// header a client sends is never believed; the public route is reachable
// anonymously; the request reaches the application whole.
func TestApplicationRoutesBehindTheAuthorizer(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	var calls atomic.Int32
	app := httptest.NewServer(tinyApp(&calls))
	defer app.Close()
	gw := front(t, e, app.URL, gateway.Options{})
	owner := e.LoginOwner(t).AccessToken
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	forged := map[string]string{access.Header: spoofed(t, e.Org.Org.ID)}

	t.Run("without the permission: 403 before the application", func(t *testing.T) {
		before := calls.Load()
		call(t, "GET", gw.URL+"/projects/p1", member, nil, "").refused(t, 403, "Forbidden")
		call(t, "GET", gw.URL+"/projects/p1", "", nil, "").refused(t, 403, "Forbidden")
		call(t, "GET", gw.URL+"/projects/p1", "gsn_"+strings.Repeat("A", 43), nil, "").refused(t, 403, "Forbidden")
		call(t, "POST", gw.URL+"/files/a", "", nil, "x").refused(t, 403, "Forbidden")
		if calls.Load() != before {
			t.Fatal("the application ran for a refused request")
		}
	})
	t.Run("a forged principal header opens nothing", func(t *testing.T) {
		before := calls.Load()
		call(t, "GET", gw.URL+"/projects/p1", "", forged, "").refused(t, 403, "Forbidden")
		call(t, "GET", gw.URL+"/projects/p1", member, forged, "").refused(t, 403, "Forbidden")
		if calls.Load() != before {
			t.Fatal("the application ran for a refused request")
		}
		s := call(t, "GET", gw.URL+"/status", "", forged, "").seen(t)
		if s.Principal != nil || s.Raw != "" {
			t.Fatalf("the public route passed the client's header on: %+v", s)
		}
		s = call(t, "POST", gw.URL+"/files/a", member, forged, "x").seen(t)
		if s.Principal == nil || s.Principal.User == "usr_forged" || s.Principal.Role.ID != "member" {
			t.Fatalf("the application got %+v, want the member's own principal", s.Principal)
		}
	})
	t.Run("with the permission: the request reaches the application with the principal", func(t *testing.T) {
		s := call(t, "GET", gw.URL+"/projects/p1?x=1&y=2", owner, nil, "").seen(t)
		p := s.Principal
		if s.Path != "/projects/p1" || s.Query != "x=1&y=2" || p == nil {
			t.Fatalf("%+v", s)
		}
		if p.Version != access.Version || p.User != e.Org.Owner.ID || p.Organization.ID != e.Org.Org.ID ||
			p.Organization.Code != "acme" || p.Role.ID != "owner" || !p.Can("users:write") ||
			p.Credential.Kind != "session" || p.Credential.ID == "" || p.Credential.Expires == 0 || p.Kind != "person" {
			t.Fatalf("principal %+v", p)
		}
		s = call(t, "POST", gw.URL+"/files/a/b%20c/d?z=1", member, map[string]string{"Content-Type": "text/plain"}, "the body").seen(t)
		if s.Method != "POST" || s.Path != "/files/a/b c/d" || s.Query != "z=1" || s.Body != "the body" || s.Principal.Can("users:write") {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("the public route is open to anybody, with the principal when there is one", func(t *testing.T) {
		if s := call(t, "GET", gw.URL+"/status", "", nil, "").seen(t); s.Principal != nil {
			t.Fatalf("%+v", s)
		}
		if s := call(t, "GET", gw.URL+"/status", "not a bearer", nil, "").seen(t); s.Principal != nil {
			t.Fatalf("%+v", s)
		}
		if s := call(t, "GET", gw.URL+"/status", member, nil, "").seen(t); s.Principal == nil || s.Principal.Role.ID != "member" {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("refused on the next request after a change of role", func(t *testing.T) {
		admin, tok := e.AddUserLogin(t, "admin@acme.example", "admin")
		call(t, "GET", gw.URL+"/projects/p1", tok, nil, "").seen(t)
		if r := e.Do("PATCH", "/v1/users/"+admin.ID, owner, map[string]string{"role": "member"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		call(t, "GET", gw.URL+"/projects/p1", tok, nil, "").refused(t, 403, "Forbidden")
	})
	t.Run("refused once a custom role's regrant took the permission away", func(t *testing.T) {
		role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Cadres", "permissions": []string{"users:read", "users:write"}})["id"].(string)
		_, tok := e.AddUserLogin(t, "cadre@acme.example", role)
		call(t, "GET", gw.URL+"/projects/p1", tok, nil, "").seen(t)
		if r := e.Do("PATCH", "/v1/roles/"+role, owner, map[string]any{"permissions": []string{"users:read"}}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if err := e.RunJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		call(t, "GET", gw.URL+"/projects/p1", tok, nil, "").refused(t, 403, "Forbidden")
		if s := call(t, "POST", gw.URL+"/files/x", tok, nil, "").seen(t); s.Principal.Role.ID != role {
			t.Fatalf("%+v", s.Principal)
		}
	})
	t.Run("refused on the next request after a logout and a key's revocation", func(t *testing.T) {
		sess := e.LoginOwner(t).AccessToken
		call(t, "GET", gw.URL+"/projects/p1", sess, nil, "").seen(t)
		if r := e.Do("POST", "/v1/auth/logout", sess, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		call(t, "GET", gw.URL+"/projects/p1", sess, nil, "").refused(t, 403, "Forbidden")

		key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "App", "client": "internal",
			"current_password": apitest.OwnerPassword, "scopes": []string{"users:write"}})
		secret := key["key"].(string)
		s := call(t, "GET", gw.URL+"/projects/p1", secret, nil, "").seen(t)
		if c := s.Principal.Credential; c.Kind != "apikey" || c.ID != key["id"] || c.Client != "internal" || len(c.Scopes) != 1 {
			t.Fatalf("key's principal %+v", s.Principal)
		}
		if r := e.Do("DELETE", "/v1/me/api-keys/"+key["id"].(string), owner, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		call(t, "GET", gw.URL+"/projects/p1", secret, nil, "").refused(t, 403, "Forbidden")
	})
	t.Run("a failure of the store opens nothing", func(t *testing.T) {
		before := calls.Load()
		e.Faults.Fail("GetItem")
		call(t, "GET", gw.URL+"/projects/p1", owner, nil, "").refused(t, 500, "Internal Server Error")
		call(t, "POST", gw.URL+"/files/a", owner, nil, "x").refused(t, 500, "Internal Server Error")
		s := call(t, "GET", gw.URL+"/status", owner, nil, "").seen(t)
		e.Faults.Clear()
		if s.Principal != nil || calls.Load() != before+1 {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("Guichet's own routes answer as before", func(t *testing.T) {
		if r := call(t, "GET", gw.URL+"/v1/me", "", forged, ""); r.status != 401 || !strings.Contains(r.body, "missing_token") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := call(t, "GET", gw.URL+"/nowhere", "", nil, ""); r.status != 404 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestApplicationRoutesWithAnIdentitySource: with an authorizer cache
// (identity source), API Gateway answers a request without an
// Authorization header 401 itself; the local gateway does too, except on
// the public route.
func TestApplicationRoutesWithAnIdentitySource(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	var calls atomic.Int32
	app := httptest.NewServer(tinyApp(&calls))
	defer app.Close()
	gw := front(t, e, app.URL, gateway.Options{IdentitySource: true})
	call(t, "GET", gw.URL+"/projects/p1", "", nil, "").refused(t, 401, "Unauthorized")
	call(t, "GET", gw.URL+"/v1/me", "", nil, "").refused(t, 401, "Unauthorized")
	call(t, "GET", gw.URL+"/status", "", nil, "").seen(t)
	_, member := e.AddUserLogin(t, "member@acme.example", "member")
	call(t, "GET", gw.URL+"/projects/p1", member, nil, "").refused(t, 403, "Forbidden")
}

// TestLocalCORS: preflights from an allowed origin are answered with
// the stack's CORS headers, and answers to it carry its origin; another
// origin gets none.
func TestLocalCORS(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	var calls atomic.Int32
	app := httptest.NewServer(tinyApp(&calls))
	defer app.Close()
	gw := front(t, e, app.URL, gateway.Options{CORSOrigins: []string{"http://localhost:5173"}})
	pre := func(origin string) answer {
		return call(t, "OPTIONS", gw.URL+"/projects/p1", "", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}, "")
	}
	r := pre("http://localhost:5173")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "authorization") || calls.Load() != 0 {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	if r := pre("https://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin: %v", r.header)
	}
	r = call(t, "GET", gw.URL+"/status", "", map[string]string{"Origin": "http://localhost:5173"}, "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	r = call(t, "GET", gw.URL+"/v1/me", "", map[string]string{"Origin": "http://localhost:5173"}, "")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("%d %v", r.status, r.header)
	}
}
