package gateway_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
)

// malformed is one bad request.
type malformed struct {
	name, method, path string
	body               string
	token              string
	// contentType, when set, replaces application/json.
	contentType string
}

// schemas returns the OpenAPI description's component schemas and its
// operations' request schemas, by route key.
func requestSchemas(t *testing.T) (map[string]map[string]any, map[string]any) {
	raw, err := app.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]map[string]any
		Components struct{ Schemas map[string]any }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for path, item := range doc.Paths {
		for method, op := range item {
			rb, ok := op["requestBody"].(map[string]any)
			if !ok {
				continue
			}
			js, ok := rb["content"].(map[string]any)["application/json"].(map[string]any)
			if !ok {
				continue // CSV and JSON Lines bodies have their own tests
			}
			out[strings.ToUpper(method)+" "+path] = js["schema"].(map[string]any)
		}
	}
	return out, doc.Components.Schemas
}

func resolve(s map[string]any, components map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		return components[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
	return s
}

// wrongValue is a JSON value of another type than the schema's.
func wrongValue(s map[string]any) string {
	switch s["type"] {
	case "string":
		return "12345"
	case "integer", "number":
		return `"12"`
	case "boolean":
		return `"yes"`
	case "array":
		return `"not-a-list"`
	}
	return `["not-an-object"]`
}

// corpus builds malformed variants of every operation's body from its
// schema: the description and the decoder are checked against each other.
func corpus(t *testing.T, paths map[string]string, token string) []malformed {
	bodies, components := requestSchemas(t)
	var out []malformed
	for _, rt := range route.All() {
		s, ok := bodies[rt.Key()]
		if !ok {
			continue
		}
		path := paths[rt.Path]
		if path == "" {
			path = rt.Path
		}
		tok := token
		if rt.Public {
			tok = ""
		}
		add := func(name, body string) {
			out = append(out, malformed{name: rt.Key() + ": " + name, method: rt.Method, path: path, body: body, token: tok})
		}
		obj := resolve(s, components)
		props, _ := obj["properties"].(map[string]any)
		names := slices.Sorted(maps.Keys(props))
		out = append(out, malformed{name: rt.Key() + ": JSON sent as text/plain", method: rt.Method, path: path,
			body: `{}`, token: tok, contentType: "text/plain"})
		add("not JSON", `{"`)
		add("an array", `[]`)
		add("null", `null`)
		add("a string", `"x"`)
		add("an unknown field", `{"__unknown":1}`)
		add("trailing data", `{} []`)
		add("invalid UTF-8", "{\"x\":\"\xff\xfe\"}")
		if req, _ := obj["required"].([]any); len(req) > 0 {
			add("no field", `{}`)
		}
		for _, name := range names {
			ps := resolve(props[name].(map[string]any), components)
			add("field "+name+" of the wrong type", fmt.Sprintf(`{%q:%s}`, name, wrongValue(ps)))
			add("field "+name+" given twice", fmt.Sprintf(`{%q:null,%q:null}`, name, name))
			switch ps["type"] {
			case "string":
				add("field "+name+" far too long", fmt.Sprintf(`{%q:%q}`, name, strings.Repeat("a", 70000)))
				add("field "+name+" with a control character", fmt.Sprintf(`{%q:"a\u0000b\u001bc"}`, name))
			case "integer", "number":
				add("field "+name+" out of range", fmt.Sprintf(`{%q:1e400}`, name))
			}
		}
	}
	return out
}

func TestMalformedRequestsAreRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	user := created(t, e, owner, "/v1/users", map[string]any{"email": "target@example.com", "first_name": "T", "last_name": "G", "role": "member"})
	role := created(t, e, owner, "/v1/roles", map[string]any{"name": "Clerks", "permissions": []string{"users:read"}})
	unit := created(t, e, owner, "/v1/organization/units", map[string]any{"name": "HQ", "kind": "site"})
	inv := created(t, e, owner, "/v1/invitations", map[string]any{"email": "invitee@example.com", "role": "member"})
	key := created(t, e, owner, "/v1/me/api-keys", map[string]any{"name": "K", "client": "internal", "current_password": apitest.OwnerPassword, "scopes": []string{"users:read"}})
	ids := map[string]string{
		"/v1/users/{id}":                "/v1/users/" + user["id"].(string),
		"/v1/users/{id}/status":         "/v1/users/" + user["id"].(string) + "/status",
		"/v1/users/{id}/password":       "/v1/users/" + user["id"].(string) + "/password",
		"/v1/users/{id}/password-reset": "/v1/users/" + user["id"].(string) + "/password-reset",
		"/v1/roles/{id}":                "/v1/roles/" + role["id"].(string),
		"/v1/organization/units/{id}":   "/v1/organization/units/" + unit["id"].(string),
		"/v1/invitations/{id}/link":     "/v1/invitations/" + inv["id"].(string) + "/link",
		"/v1/me/api-keys/{id}/rotate":   "/v1/me/api-keys/" + key["id"].(string) + "/rotate",
	}
	cases := corpus(t, ids, owner)
	cursors := []string{"garbage", "eyJvIjoib3RoZXIiLCJsIjoidXNlcnMiLCJrIjoiVVNFUiN4In0", strings.Repeat("A", 2000), "%00"}
	for _, list := range []string{"/v1/users", "/v1/invitations", "/v1/audit", "/v1/api-keys", "/v1/organization/units"} {
		for _, c := range cursors {
			cases = append(cases, malformed{name: list + " with a tampered cursor " + c[:min(8, len(c))], method: "GET",
				path: list + "?cursor=" + c, token: owner})
		}
		cases = append(cases, malformed{name: list + " with limit=-1", method: "GET", path: list + "?limit=-1", token: owner})
	}
	if len(cases) < 150 {
		t.Fatalf("only %d malformed requests", len(cases))
	}
	before := e.Scan(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r *apitest.Response
			if c.contentType == "" {
				r = e.Do(c.method, c.path, c.token, c.body)
			} else {
				h := map[string]string{"Content-Type": c.contentType, "User-Agent": "apitest"}
				if c.token != "" {
					h["Authorization"] = "Bearer " + c.token
				}
				if r = e.DoHeader(c.method, c.path, h, c.body); r.Status != 415 {
					t.Fatalf("status %d, want 415: %.300s", r.Status, r.Body)
				}
			}
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d: %.300s", r.Status, r.Body)
			}
			r.Problem(t, r.Status)
		})
	}
	// Failed logins count against the login (by design); nothing else may
	// have changed.
	var changed []string
	after := e.Scan(t)
	for _, item := range after {
		if !slices.Contains(before, item) && !strings.Contains(item, `"RL#`) {
			changed = append(changed, item)
		}
	}
	if len(changed) > 0 {
		t.Fatalf("%d malformed requests changed the table:\n%.2000s", len(cases), strings.Join(changed, "\n"))
	}
	t.Logf("%d malformed requests, each refused with a 4xx problem", len(cases))
}
