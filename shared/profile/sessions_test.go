package profile_test

import (
	"testing"

	"github.com/guichet/guichet/shared/apitest"
)

type sessionList struct {
	Items []struct {
		ID        string `json:"id"`
		UserAgent string `json:"user_agent"`
		Current   bool   `json:"current"`
	} `json:"items"`
}

func TestMySessions(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "sam@acme.example", "member")
	a := e.Login(t, u.Email, apitest.UserPassword)
	b := e.Login(t, u.Email, apitest.UserPassword)
	c := e.Login(t, u.Email, apitest.UserPassword)
	owner := e.LoginOwner(t)
	list := func(tok string) sessionList {
		var l sessionList
		r := e.Do("GET", "/v1/me/sessions", tok, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &l)
		return l
	}

	var current, other string
	t.Run("the list shows one's sessions, the current one flagged", func(t *testing.T) {
		l := list(a.AccessToken)
		if len(l.Items) != 3 {
			t.Fatalf("%+v", l)
		}
		n := 0
		for _, s := range l.Items {
			if s.Current {
				n++
				current = s.ID
			} else {
				other = s.ID
			}
			if s.UserAgent != "apitest" {
				t.Fatalf("%+v", s)
			}
		}
		if n != 1 {
			t.Fatalf("%d current sessions", n)
		}
	})
	t.Run("another user's session is not found", func(t *testing.T) {
		e.Do("DELETE", "/v1/me/sessions/"+other, owner.AccessToken, nil).Problem(t, 404)
		e.Do("DELETE", "/v1/me/sessions/ses_nosuchsession", a.AccessToken, nil).Problem(t, 404)
		if len(list(a.AccessToken).Items) != 3 {
			t.Fatal("a session ended")
		}
	})
	t.Run("ending one session ends its tokens", func(t *testing.T) {
		if r := e.Do("DELETE", "/v1/me/sessions/"+other, a.AccessToken, nil); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if len(list(a.AccessToken).Items) != 2 {
			t.Fatal("not ended")
		}
		ended := 0
		for _, tk := range []apitest.Tokens{b, c} {
			if e.Do("GET", "/v1/me", tk.AccessToken, nil).Status == 401 {
				ended++
			}
		}
		if ended != 1 {
			t.Fatalf("%d sessions ended", ended)
		}
	})
	t.Run("ending the others keeps the current one", func(t *testing.T) {
		var out struct {
			Ended int `json:"ended"`
		}
		r := e.Do("DELETE", "/v1/me/sessions", a.AccessToken, nil)
		r.Decode(t, &out)
		if r.Status != 200 || out.Ended != 1 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		l := list(a.AccessToken)
		if len(l.Items) != 1 || l.Items[0].ID != current {
			t.Fatalf("%+v", l)
		}
		e.Do("GET", "/v1/me", b.AccessToken, nil).Problem(t, 401)
		e.Do("GET", "/v1/me", c.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": c.RefreshToken}).Problem(t, 401)
		if r := e.Do("GET", "/v1/me", owner.AccessToken, nil); r.Status != 200 {
			t.Fatal("another user's session ended")
		}
	})
}
