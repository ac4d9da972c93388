package gateway_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/guichet/guichet/shared/access"
	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/config"
	"github.com/guichet/guichet/shared/gateway"
)

// TestTheApplicationGetsThePrincipalsExpandedUnits: on an application's
// route the authorizer's principal carries the units the caller reaches
// (its list, its kinds' units and their descendants), as GET /v1/me shows
// them, cut at access.MaxExpanded with expanded_truncated beyond.
func TestTheApplicationGetsThePrincipalsExpandedUnits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) { c.AppRoutes = appRoutes })
	owner := e.LoginOwner(t).AccessToken
	u := makeUnits(t, e, owner)
	var calls atomic.Int32
	app := httptest.NewServer(tinyApp(&calls))
	t.Cleanup(app.Close)
	gw := front(t, e, app.URL, gateway.Options{})

	clerk := e.AddUser(t, "clerk@acme.example", "member")
	e.Do("PATCH", "/v1/users/"+clerk.ID, owner, map[string]any{"all_units": false, "units": []string{u.estB},
		"unit_kinds": []string{"level"}}).Object(t, http.StatusOK)
	tok := e.Login(t, "clerk@acme.example", apitest.UserPassword).AccessToken
	got := call(t, "POST", gw.URL+"/files/a", tok, nil, "").seen(t).Principal
	if got == nil || !slices.Equal(sorted(got.Units.Expanded...), sorted(u.estB, u.level)) || got.Units.ExpandedTruncated {
		t.Fatalf("principal units %+v", got)
	}
	if !got.InUnit(u.estB) || got.InUnit(u.estA) || got.InUnit(u.companyB) {
		t.Fatalf("InUnit over %v", got.Units.Expanded)
	}
	var me struct {
		Principal access.Principal `json:"principal"`
	}
	e.Do("GET", "/v1/me", tok, nil).Decode(t, &me)
	if !slices.Equal(sorted(me.Principal.Units.Expanded...), sorted(got.Units.Expanded...)) {
		t.Fatalf("/v1/me %v, the application %v", me.Principal.Units.Expanded, got.Units.Expanded)
	}

	t.Run("the owner's (all units) carries none", func(t *testing.T) {
		p := call(t, "POST", gw.URL+"/files/a", owner, nil, "").seen(t).Principal
		if p == nil || !p.Units.All || len(p.Units.Expanded) != 0 || !p.InUnit(u.estA) {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("past MaxExpanded units, the list is cut and says so", func(t *testing.T) {
		for i := range access.MaxExpanded {
			created(t, e, owner, "/v1/organization/units", map[string]any{"name": fmt.Sprintf("Site %03d", i), "kind": "site", "parent": u.estB})
		}
		s := call(t, "POST", gw.URL+"/files/a", tok, nil, "").seen(t)
		p := s.Principal
		if p == nil || len(p.Units.Expanded) != access.MaxExpanded || !p.Units.ExpandedTruncated {
			t.Fatalf("%d units, truncated %v", len(p.Units.Expanded), p.Units.ExpandedTruncated)
		}
		// The measure behind the cap: the header the application gets.
		raw, err := base64.RawURLEncoding.DecodeString(s.Raw)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("principal with %d expanded units: %d bytes of JSON, %d as the header", access.MaxExpanded, len(raw), len(s.Raw))
		if len(s.Raw) > 6<<10 {
			t.Fatalf("the principal's header is %d bytes", len(s.Raw))
		}
		e.Do("GET", "/v1/me", tok, nil).Decode(t, &me)
		if len(me.Principal.Units.Expanded) != access.MaxExpanded+2 || me.Principal.Units.ExpandedTruncated {
			t.Fatalf("/v1/me: %d units", len(me.Principal.Units.Expanded))
		}
	})
}
