package router

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/problem"
)

type filter struct {
	Status string `query:"status" enum:"on|off" doc:"Only these."`
	All    bool   `query:"all"`
	Token  string `query:"token,required"`
}

type body struct {
	Name string `json:"name"`
}

func (b body) Validate() error {
	if b.Name == "" {
		return problem.Invalid(problem.FieldError{Field: "name", Message: "is required"})
	}
	return nil
}

func serve(t *testing.T, op Op, method, target, reqBody string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(reqBody))
	if reqBody != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	if err := op.Handle(w, r); err != nil {
		p, ok := problem.As(err)
		if !ok {
			t.Fatalf("error %v", err)
		}
		w.Code = p.Status
	}
	return w
}

func TestTypedOperations(t *testing.T) {
	t.Run("a list reads its filter, limit and cursor from the query", func(t *testing.T) {
		var got filter
		var page Page
		op := List(Limits{Items: "Things", Default: 5, Max: 10}, func(_ context.Context, _ Call, f filter, pg Page) (body, error) {
			got, page = f, pg
			return body{}, nil
		})
		if w := serve(t, op, "GET", "/?status=on&all=true&limit=7&cursor=abc", ""); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		if got.Status != "on" || !got.All || page.Limit != 7 || page.Cursor != "abc" {
			t.Fatalf("filter %+v, page %+v", got, page)
		}
		if serve(t, op, "GET", "/", ""); page.Limit != 5 {
			t.Fatalf("default limit %d", page.Limit)
		}
		for _, q := range []string{"limit=0", "limit=11", "limit=x", "status=maybe", "all=yes"} {
			if w := serve(t, op, "GET", "/?"+q, ""); w.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d", q, w.Code)
			}
		}
	})
	t.Run("the description gets each parameter's type from its field", func(t *testing.T) {
		op := List(Limits{Items: "Things", Default: 5, Max: 10}, func(context.Context, Call, filter, Page) (body, error) {
			return body{}, nil
		})
		types := map[string]string{}
		for _, p := range op.Query {
			types[p.Name] = p.Type
			if p.Name == "token" && !p.Required {
				t.Error("token is not required")
			}
		}
		if types["all"] != "boolean" || types["limit"] != "integer" || types["status"] != "" || types["cursor"] != "" {
			t.Fatalf("types %v", types)
		}
	})
	t.Run("a JSON body is decoded strictly and checks itself", func(t *testing.T) {
		op := JSON(http.StatusCreated, func(_ context.Context, _ Call, in body) (body, error) { return in, nil })
		if op.Request == nil || op.Status != http.StatusCreated {
			t.Fatalf("op %+v", op)
		}
		if w := serve(t, op, "POST", "/", `{"name":"x"}`); w.Code != http.StatusCreated {
			t.Fatalf("status %d", w.Code)
		}
		if w := serve(t, op, "POST", "/", `{"name":""}`); w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", w.Code)
		}
		if w := serve(t, op, "POST", "/", `{"other":1}`); w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"x"}`))
		r.Header.Set("Content-Type", "text/plain")
		if p, ok := problem.As(op.Handle(httptest.NewRecorder(), r)); !ok || p.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("text/plain: %v", p)
		}
	})
	t.Run("a pointer body may be left out", func(t *testing.T) {
		var got *body
		op := JSON(http.StatusOK, func(_ context.Context, _ Call, in *body) (None, error) { got = in; return None{}, nil })
		if !op.RequestOptional {
			t.Error("the description would require the body")
		}
		serve(t, op, "POST", "/", "")
		if got != nil {
			t.Fatalf("got %+v", got)
		}
		serve(t, op, "POST", "/", `{"name":"x"}`)
		if got == nil || got.Name != "x" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a call tells which fields were sent as null", func(t *testing.T) {
		var nulls map[string]bool
		op := JSON(http.StatusOK, func(_ context.Context, c Call, _ struct {
			Name *string `json:"name"`
		}) (None, error) {
			nulls = c.Nulls()
			return None{}, nil
		})
		serve(t, op, "PATCH", "/", `{"name":null}`)
		if !nulls["name"] {
			t.Fatalf("nulls %v", nulls)
		}
	})
	t.Run("a file is answered with its type, name and headers", func(t *testing.T) {
		op := Download([]string{"text/plain"}, func(context.Context, Call, None) (File, error) {
			return File{ContentType: "text/plain", Name: "a.txt", Header: http.Header{"Etag": {`"1"`}}, Data: []byte("hi")}, nil
		})
		w := serve(t, op, "GET", "/", "")
		h := w.Header()
		if w.Body.String() != "hi" || h.Get("Content-Type") != "text/plain" || h.Get("ETag") != `"1"` ||
			h.Get("Content-Disposition") != `attachment; filename="a.txt"` || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v body %q", h, w.Body)
		}
	})
}
