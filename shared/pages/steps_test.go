package pages_test

import (
	"net/url"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestTheInvitePageTakesTheOrganizationsSteps: accepting an invitation on
// the page does not sign in when the organization requires two-step
// verification of the role; the step comes first.
func TestTheInvitePageTakesTheOrganizationsSteps(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	if r := e.Do("PATCH", "/v1/organization", owner, map[string]any{"mfa_required_for": []string{"member"}}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	link := invite(t, e, "steps@acme.example")
	b := newBrowser(t, e)
	p := b.get(link)
	res := b.submit(p, "/invite", url.Values{"token": {p.hidden(t, "token")}, "first_name": {"S"}, "last_name": {"T"},
		"password": {"a-good-password-1"}, "confirm": {"a-good-password-1"}})
	res.expect(t, 200, "This account needs a sign-in step")
	for name := range b.cookies {
		if name == "__Host-guichet_session" || name == "guichet_session" {
			t.Fatalf("signed in without the step: %v", b.cookies)
		}
	}
}
