package access_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/guichet/guichet/shared/access"
)

var alice = access.Principal{Version: access.Version, Organization: access.Organization{ID: "org_1", Code: "acme"},
	User: "usr_1", Kind: "person", Role: access.Role{ID: "cadre"}, Permissions: []string{"projects:write"},
	Units:      access.Units{List: []string{"unt_a"}, Expanded: []string{"unt_a", "unt_a1"}},
	Credential: access.Credential{Kind: "session", ID: "ses_1"}}

func contextOf(t *testing.T, p access.Principal) map[string]any {
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"authenticated": "true", access.ContextKey: string(b)}
}

func header(t *testing.T, p access.Principal) string {
	v, err := p.HeaderValue()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFromEvent(t *testing.T) {
	forged := alice
	forged.User, forged.Permissions = "usr_forged", []string{"everything"}
	ev := func(domain string, authz map[string]any, h map[string]string) events.APIGatewayV2HTTPRequest {
		e := events.APIGatewayV2HTTPRequest{Headers: h, RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: domain}}
		if authz != nil {
			e.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: authz}
		}
		return e
	}
	spoof := map[string]string{"x-guichet-principal": header(t, forged)}
	t.Run("the authorizer's context, not the client's header", func(t *testing.T) {
		p, err := access.FromEvent(ev("abc.execute-api.eu-west-1.amazonaws.com", contextOf(t, alice), spoof))
		if err != nil || p.User != "usr_1" || !p.Can("projects:write") || p.Can("everything") {
			t.Fatalf("%+v %v", p, err)
		}
	})
	t.Run("an anonymous context leaves no room for a header", func(t *testing.T) {
		_, err := access.FromEvent(ev("127.0.0.1:8080", map[string]any{"authenticated": "false", "reason": "missing_token"}, spoof))
		if err != access.ErrNoPrincipal {
			t.Fatal(err)
		}
	})
	t.Run("the header only on this machine", func(t *testing.T) {
		if _, err := access.FromEvent(ev("abc.execute-api.eu-west-1.amazonaws.com", nil, spoof)); err != access.ErrNoPrincipal {
			t.Fatalf("a header believed in AWS: %v", err)
		}
		if _, err := access.FromEvent(ev("", nil, spoof)); err != access.ErrNoPrincipal {
			t.Fatalf("a header believed without a domain: %v", err)
		}
		for _, d := range []string{"127.0.0.1:3000", "localhost", "[::1]:3000"} {
			p, err := access.FromEvent(ev(d, nil, map[string]string{"X-Guichet-Principal": header(t, alice)}))
			if err != nil || p.User != "usr_1" {
				t.Fatalf("%s: %+v %v", d, p, err)
			}
		}
	})
	t.Run("a later version or a malformed principal is an error", func(t *testing.T) {
		later := alice
		later.Version = access.Version + 1
		for _, c := range []map[string]any{contextOf(t, later), {access.ContextKey: "{"}, {access.ContextKey: 42}, {access.ContextKey: `{"version":1}`}} {
			if _, err := access.FromEvent(ev("x", c, nil)); err == nil || err == access.ErrNoPrincipal {
				t.Fatalf("%v: %v", c, err)
			}
		}
	})
}

func TestCanAndInUnit(t *testing.T) {
	if !alice.Can("projects:write") || alice.Can("projects:read") || alice.Can("") {
		t.Fatal("Can")
	}
	if !alice.InUnit("unt_a") || !alice.InUnit("unt_a1") || alice.InUnit("unt_b") || alice.InUnit("") {
		t.Fatal("InUnit")
	}
	all := alice
	all.Units = access.Units{All: true}
	if !all.InUnit("unt_b") {
		t.Fatal("InUnit with all units")
	}
}

func TestMiddleware(t *testing.T) {
	h := access.Require("projects:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := access.FromContext(r.Context())
		w.Write([]byte(p.User))
	}))
	do := func(p *access.Principal, raw string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/projects/1", nil)
		if p != nil {
			raw = header(t, *p)
		}
		if raw != "" {
			r.Header.Set(access.Header, raw)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	problem := func(w *httptest.ResponseRecorder, status int, code string) {
		t.Helper()
		var v struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Status != status || v.Code != code {
			t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
		}
	}
	if w := do(&alice, ""); w.Code != 200 || w.Body.String() != "usr_1" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	problem(do(nil, ""), 401, "unauthenticated")
	problem(do(nil, "not base64 !"), 401, "unauthenticated")
	bob := alice
	bob.Permissions = nil
	problem(do(&bob, ""), 403, "forbidden")
}

// TestImportsNothingOfGuichet: an application's module imports this
// package alone.
func TestImportsNothingOfGuichet(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ast.Imports {
			if p := strings.Trim(im.Path.Value, `"`); strings.HasPrefix(p, "github.com/guichet/") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
