package pages_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestAPersonOfTwoOrganizationsOnThePages: the invitation page joins an
// address that is a login already with its password, and the login page
// then asks which organization.
func TestAPersonOfTwoOrganizationsOnThePages(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	betaSeed, _, err := e.Stack.Seed(context.Background(), "Beta", "beta", "owner@beta.example", apitest.OwnerPassword)
	if err != nil {
		t.Fatal(err)
	}
	betaOrg := betaSeed.Org
	beta := e.Login(t, "owner@beta.example", apitest.OwnerPassword)
	if r := e.Do("POST", "/v1/invitations", beta.AccessToken, map[string]any{"email": e.Org.Owner.Email, "role": "member"}); r.Status != 201 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	b := newBrowser(t, e)
	p := b.get(lastLink(t, e, e.Org.Owner.Email))
	res := b.submit(p, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"Owen"}, "last_name": {"Both"},
		"password": {apitest.OwnerPassword}, "confirm": {apitest.OwnerPassword}})
	res.expect(t, 200, "You are signed in as")

	b = newBrowser(t, e)
	step := b.submit(b.get("/login"), "/login", url.Values{"login": {e.Org.Owner.Email}, "password": {apitest.OwnerPassword}})
	step.expect(t, 200, "Choose an organization", `name="organization" value="`+betaOrg.ID+`"`, "Beta")
	done := b.submit(step, "/login/step", url.Values{"step": {"organization"}, "step_token": {step.hidden(t, "step_token")}, "organization": {betaOrg.ID}})
	done.expect(t, 200, "You are signed in as")
	var me struct {
		Organization struct{ Code string } `json:"organization"`
	}
	e.Do("GET", "/v1/me", b.cookies["__Host-guichet_session"], nil).Decode(t, &me)
	if me.Organization.Code != "beta" {
		t.Fatalf("signed in to %q", me.Organization.Code)
	}
}
