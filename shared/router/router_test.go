package router

import (
	"slices"
	"testing"

	"github.com/guichet/guichet/shared/route"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/me", "/v1/me", true},
		{"/v1/me", "/v1/me/", false},
		{"/v1/users/{id}", "/v1/users/u1", true},
		{"/v1/users/{id}", "/v1/users/", false},
		{"/v1/users/{id}", "/v1/users/u1/x", false},
		{"/v1/users/{id}/status", "/v1/users/u1/status", true},
	} {
		if got := Match(c.pattern, c.path); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

func TestRouteTable(t *testing.T) {
	t.Parallel()
	ops := map[route.OperationID]bool{}
	keys := map[string]bool{}
	for _, rt := range route.All() {
		t.Run(rt.Key()+" is well formed", func(t *testing.T) {
			if ops[rt.Operation] || keys[rt.Key()] {
				t.Fatal("operation or route key used twice")
			}
			ops[rt.Operation], keys[rt.Key()] = true, true
			if !slices.Contains(route.Functions(), rt.Function) || rt.Function == route.Authorizer {
				t.Fatalf("function %q", rt.Function)
			}
			if rt.Summary == "" {
				t.Fatal("no summary")
			}
		})
	}
	t.Run("every function has a spec", func(t *testing.T) {
		var names []string
		for _, s := range route.Specs() {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, route.Functions()) {
			t.Fatalf("specs %v, functions %v", names, route.Functions())
		}
	})
}
