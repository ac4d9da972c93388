package openapi_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/app"
	"github.com/guichet/guichet/shared/route"
)

func build(t *testing.T) []byte {
	t.Helper()
	doc, err := app.OpenAPI(app.Deps{})
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
	t.Run("authorized routes name their permission as scope of both schemes", func(t *testing.T) {
		for _, rt := range route.All() {
			if rt.Page {
				continue
			}
			op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
			if rt.Public != (op.Security != nil && len(*op.Security) == 0) {
				t.Errorf("%s: security %v", rt.Key(), op.Security)
			}
			if !rt.Public && (len(*op.Security) != 2 || (rt.Permission != "" && (*op.Security)[0]["session"][0] != string(rt.Permission))) {
				t.Errorf("%s: security %v", rt.Key(), *op.Security)
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
