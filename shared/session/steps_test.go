package session_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
)

type answer struct {
	AccessToken    string `json:"access_token"`
	RefreshToken   string `json:"refresh_token"`
	Challenge      string `json:"challenge"`
	ChallengeToken string `json:"challenge_token"`
}

// TestEveryPathThatOpensASessionTakesTheSameSteps: the organization's
// requirement of two-step verification is asked by login, by an accepted
// invitation and by a refresh after the policy changed, the same way.
func TestEveryPathThatOpensASessionTakesTheSameSteps(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t)
	if r := e.Do("PATCH", "/v1/organization", owner.AccessToken, map[string]any{"mfa_required_for": []string{"owner", "member"}}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}

	t.Run("login asks for the enrollment", func(t *testing.T) {
		var a answer
		e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}).Decode(t, &a)
		if a.Challenge != "mfa_enrollment" || a.AccessToken != "" {
			t.Fatalf("%+v", a)
		}
	})

	t.Run("an accepted invitation asks for it too, and opens no session", func(t *testing.T) {
		r := e.Do("POST", "/v1/invitations", owner.AccessToken, map[string]any{"email": "grace@acme.example", "role": "member", "all_units": true})
		var inv struct{ Link string }
		r.Decode(t, &inv)
		link, err := url.Parse(inv.Link)
		if r.Status != 201 || err != nil {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r = e.Do("POST", "/v1/invitations/accept", "", map[string]string{"token": link.Query().Get("token"),
			"password": "a-fine-password-7", "first_name": "Grace", "last_name": "Hopper"})
		var a answer
		r.Decode(t, &a)
		if r.Status != 200 || a.Challenge != "mfa_enrollment" || a.ChallengeToken == "" || a.AccessToken != "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var sessions int
		for _, k := range e.Scan(t) {
			if strings.Contains(k, `"Value":"SESSION"}`) {
				sessions++
			}
		}
		if sessions != 1 { // the owner's
			t.Fatalf("%d sessions", sessions)
		}
		t.Run("and the step opens the session", func(t *testing.T) {
			r := e.Do("POST", "/v1/auth/mfa/enroll", "", map[string]string{"challenge_token": a.ChallengeToken})
			if r.Status != 200 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	})

	t.Run("a refresh after the policy changed asks for the step, not tokens", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": owner.RefreshToken})
		var a answer
		r.Decode(t, &a)
		if r.Status != 200 || a.Challenge != "mfa_enrollment" || a.AccessToken != "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		t.Run("and the session it refreshed has ended", func(t *testing.T) {
			e.Do("GET", "/v1/me", owner.AccessToken, nil).Problem(t, 401)
			e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": owner.RefreshToken}).Problem(t, 401)
		})
	})
}

// TestARefreshProvesTheCodeThePolicyRequires: once the organization
// requires two-step verification of the role, a session that never proved
// a code gets the mfa step at its refresh; one that proved it refreshes.
func TestARefreshProvesTheCodeThePolicyRequires(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t)
	r := e.Do("POST", "/v1/me/mfa/totp", owner.AccessToken, nil)
	var st struct{ Secret string }
	r.Decode(t, &st)
	code := func() string { return gotp.NewDefaultTOTP(st.Secret).At(e.Clock.Now().Unix()) }
	if r := e.Do("POST", "/v1/me/mfa/totp/confirm", owner.AccessToken, map[string]string{"code": code(), "current_password": apitest.OwnerPassword}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	var ch answer
	e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}).Decode(t, &ch)
	var verified answer
	e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": ch.ChallengeToken, "code": code()}).Decode(t, &verified)
	if verified.RefreshToken == "" {
		t.Fatal("no tokens after the code")
	}

	t.Run("without the policy, the session that proved no code refreshes", func(t *testing.T) {
		var next answer
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": owner.RefreshToken}).Decode(t, &next)
		if next.AccessToken == "" {
			t.Fatalf("%+v", next)
		}
		owner.RefreshToken = next.RefreshToken
	})
	if r := e.Do("PATCH", "/v1/organization", verified.AccessToken, map[string]any{"mfa_required_for": []string{"owner"}}); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	t.Run("with it, that session gets the mfa step", func(t *testing.T) {
		var a answer
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": owner.RefreshToken}).Decode(t, &a)
		if a.Challenge != "mfa" || a.AccessToken != "" {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("and the session that proved a code refreshes", func(t *testing.T) {
		var a answer
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": verified.RefreshToken}).Decode(t, &a)
		if a.AccessToken == "" {
			t.Fatalf("%+v", a)
		}
	})
}
