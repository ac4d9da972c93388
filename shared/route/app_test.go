package route_test

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/route"
)

func TestAppRouteCheckTheMode(t *testing.T) {
	for name, c := range map[string]struct {
		r    route.AppRoute
		want string // a part of the error; empty: none
	}{
		"no mode is strict":      {route.AppRoute{Method: "GET", Path: "/a", Access: route.Public}, ""},
		"strict and public":      {route.AppRoute{Method: "GET", Path: "/a", Access: route.Public, Mode: route.Strict}, ""},
		"fast and authenticated": {route.AppRoute{Method: "GET", Path: "/a", Access: route.Authenticated, Mode: route.Fast}, ""},
		"fast with a permission": {route.AppRoute{Method: "GET", Path: "/a", Access: route.Permission, Permission: "projects:read", Mode: route.Fast}, ""},
		"fast and public":        {route.AppRoute{Method: "GET", Path: "/a", Access: route.Public, Mode: route.Fast}, "anonymous"},
		"another mode":           {route.AppRoute{Method: "GET", Path: "/a", Access: route.Authenticated, Mode: "lazy"}, `mode must be "strict" or "fast"`},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.r.Check()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.r.Key())):
				t.Fatalf("Check: %v, want an error naming %q and saying %q", err, c.r.Key(), c.want)
			}
		})
	}
}

func TestParseAppRoutesReadsTheMode(t *testing.T) {
	routes, err := route.ParseAppRoutes(`[{"method":"GET","path":"/a","access":"authenticated","mode":"fast"},
		{"method":"GET","path":"/b","access":"authenticated"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if !routes[0].IsFast() || routes[1].IsFast() || routes[1].Mode != "" {
		t.Fatalf("%+v", routes)
	}
	if _, err := route.ParseAppRoutes(`[{"method":"GET","path":"/a","access":"public","mode":"fast"}]`); err == nil ||
		!strings.HasPrefix(err.Error(), "APP_ROUTES: ") {
		t.Fatalf("a fast public route: %v", err)
	}
}
