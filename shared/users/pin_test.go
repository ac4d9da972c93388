package users_test

import (
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

// TestTrivialPINsAreRefusedEverywhere: a PIN of one repeated digit, a run
// or on the common list is refused wherever a PIN is set, and nothing is
// written.
func TestTrivialPINsAreRefusedEverywhere(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	trivial := []string{"123456", "000000", "111111", "654321", "012345", "987654", "121212"}
	pinUser := func(username, pin string) map[string]any {
		return map[string]any{"username": username, "password": pin, "first_name": "K", "last_name": "K", "role": "member"}
	}
	refused := func(t *testing.T, r *apitest.Response, field string) {
		t.Helper()
		p := r.Problem(t, 422)
		if p.Code != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}

	t.Run("at creation", func(t *testing.T) {
		for _, pin := range trivial {
			refused(t, e.Do("POST", "/v1/users", owner, pinUser("kiosk", pin)), "password")
		}
		if r := e.Do("GET", "/v1/users?q=kiosk", owner, nil); r.Status != 200 || !emptyList(t, r) {
			t.Fatalf("a refused user was written: %s", r.Body)
		}
	})
	c := create(t, e, owner, pinUser("kiosk", "481937"))
	t.Run("at the manual reset", func(t *testing.T) {
		for _, pin := range trivial {
			refused(t, e.Do("POST", "/v1/users/"+c.ID+"/password", owner, map[string]any{"password": pin}), "password")
		}
	})
	var ch struct {
		ChallengeToken string `json:"challenge_token"`
	}
	e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "kiosk", "organization": "acme", "password": "481937"}).Decode(t, &ch)
	t.Run("at the password_change challenge", func(t *testing.T) {
		for _, pin := range trivial {
			refused(t, e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": ch.ChallengeToken, "new_password": pin}), "new_password")
		}
	})
	var tok apitest.Tokens
	e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": ch.ChallengeToken, "new_password": "730518"}).Decode(t, &tok)
	t.Run("at the change of one's own PIN", func(t *testing.T) {
		for _, pin := range trivial {
			refused(t, e.Do("POST", "/v1/me/password", tok.AccessToken, map[string]string{"current_password": "730518", "new_password": pin}), "new_password")
		}
	})
	t.Run("a PIN of no pattern is accepted", func(t *testing.T) {
		r := e.Do("POST", "/v1/me/password", tok.AccessToken, map[string]string{"current_password": "730518", "new_password": "864209"})
		if r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func emptyList(t *testing.T, r *apitest.Response) bool {
	var l struct{ Items []any }
	r.Decode(t, &l)
	return len(l.Items) == 0
}
