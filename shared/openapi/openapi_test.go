package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/language"
	"github.com/guichet/guichet/shared/route"
)

func build(t *testing.T) []byte {
	t.Helper()
	doc, err := app.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestTheDescriptionIsValidOpenAPI31(t *testing.T) {
	t.Parallel()
	raw := build(t)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("version %s", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid description: %v", err)
	}
	t.Run("it describes exactly the routed routes but the hosted pages", func(t *testing.T) {
		var described, routed []string
		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				described = append(described, method+" "+path)
			}
		}
		for _, rt := range route.All() {
			if !rt.Page {
				routed = append(routed, rt.Key())
			}
		}
		slices.Sort(described)
		slices.Sort(routed)
		if !slices.Equal(described, routed) {
			t.Fatalf("described %v\nrouted    %v", described, routed)
		}
	})
	t.Run("each route's security names exactly the credentials it takes, without scopes", func(t *testing.T) {
		for _, rt := range route.All() {
			if rt.Page {
				continue
			}
			op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
			var schemes []string
			for _, req := range *op.Security {
				for name, scopes := range req {
					schemes = append(schemes, name)
					if len(scopes) != 0 {
						t.Errorf("%s: scopes %v", rt.Key(), scopes)
					}
				}
			}
			want := []string{"session", "apiKey"}
			switch {
			case rt.Public:
				want = nil
			case rt.SessionOnly():
				want = []string{"session"}
			}
			if op.Security == nil || !slices.Equal(schemes, want) {
				t.Errorf("%s: security %v, want %v", rt.Key(), op.Security, want)
			}
			if rt.Permission != "" && !strings.Contains(op.Description, "`"+string(rt.Permission)+"`") {
				t.Errorf("%s: the description does not name the permission: %q", rt.Key(), op.Description)
			}
		}
	})
	t.Run("each operation lists the problem codes it answers, by status", func(t *testing.T) {
		for _, rt := range route.All() {
			if rt.Page {
				continue
			}
			op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
			for _, code := range rt.Problems() {
				st := route.ProblemStatus(code)
				if st == 0 {
					t.Fatalf("%s: code %s has no status", rt.Key(), code)
				}
				res := op.Responses.Status(st)
				if res == nil {
					t.Fatalf("%s: no %d response for %s", rt.Key(), st, code)
				}
				enum := res.Value.Content.Get("application/problem+json").Schema.Value.Properties["code"].Value.Enum
				if !slices.Contains(enum, any(code)) {
					t.Errorf("%s: %d does not list %s: %v", rt.Key(), st, code, enum)
				}
			}
			for st, header := range map[int]string{429: "Retry-After", 503: "Retry-After", 405: "Allow"} {
				if res := op.Responses.Status(st); res != nil && res.Value.Headers[header] == nil {
					t.Errorf("%s: %d does not declare %s", rt.Key(), st, header)
				}
			}
		}
	})
}

func TestTheCommittedDescriptionIsCurrent(t *testing.T) {
	t.Parallel()
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(committed), bytes.TrimSpace(build(t))) {
		t.Fatal("shared/openapi/openapi.json is stale: run make openapi")
	}
}

func TestTheDescriptionIsServed(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	r := e.Do("GET", "/v1/openapi.json", "", nil)
	if r.Status != 200 || !bytes.Equal(bytes.TrimSpace(r.Body), bytes.TrimSpace(build(t))) {
		t.Fatalf("status %d", r.Status)
	}
}

// TestTheRequestSchemasTakeWhatTheServerTakes checks bodies the server
// accepts (and refuses) against the description's request schemas, as a
// validating proxy would.
func TestTheRequestSchemasTakeWhatTheServerTakes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(build(t))
	if err != nil {
		t.Fatal(err)
	}
	address := `{"line1":"1 rue de la Paix","postal_code":"75002","city":"Paris","country":"FR"}`
	for _, c := range []struct {
		name, method, path, body string
		ok                       bool
	}{
		{"a part of the week's working hours", "PATCH", "/v1/me", `{"working_hours":{"mon":[{"start":"09:00","end":"17:00"}]}}`, true},
		{"null removing the start address", "PATCH", "/v1/me", `{"start_address":null}`, true},
		{"null removing the default route", "PATCH", "/v1/me", `{"default_route":null}`, true},
		{"a start address", "PATCH", "/v1/me", `{"start_address":` + address + `}`, true},
		{"null for a name", "PATCH", "/v1/me", `{"first_name":null}`, false},
		{"a person with names", "POST", "/v1/users", `{"email":"a@example.com","first_name":"A","last_name":"B","role":"member"}`, true},
		{"a person without names", "POST", "/v1/users", `{"email":"a@example.com","role":"member"}`, false},
		{"a person with an empty name", "POST", "/v1/users", `{"kind":"person","email":"a@example.com","first_name":"","last_name":"B","role":"member"}`, false},
		{"a service user without names", "POST", "/v1/users", `{"kind":"service","user_code":"SVC0001","client":"internal","role":"admin"}`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(c.body), &v); err != nil {
				t.Fatal(err)
			}
			s := doc.Paths.Find(c.path).GetOperation(c.method).RequestBody.Value.Content.Get("application/json").Schema.Value
			err := s.VisitJSON(v, openapi3.EnableJSONSchema2020())
			if (err == nil) != c.ok {
				t.Fatalf("valid %v, want %v: %v", err == nil, c.ok, err)
			}
		})
	}
}

func TestEveryLanguageFieldListsTheSupportedLanguages(t *testing.T) {
	var doc any
	if err := json.Unmarshal(build(t), &doc); err != nil {
		t.Fatal(err)
	}
	want := language.Supported()
	slices.Sort(want)
	found := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if props, ok := x["properties"].(map[string]any); ok {
				if l, ok := props["language"].(map[string]any); ok {
					found++
					var got []string
					for _, e := range l["enum"].([]any) {
						got = append(got, e.(string))
					}
					slices.Sort(got)
					if !slices.Equal(got, want) {
						t.Errorf("%s.language: enum %v, want %v", path, got, want)
					}
				}
			}
			for k, c := range x {
				walk(path+"/"+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprint(path, "/", i), c)
			}
		}
	}
	walk("#", doc)
	if found < 5 {
		t.Fatalf("only %d language fields described", found)
	}
}
