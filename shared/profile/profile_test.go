package profile_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

func address(city string) map[string]any {
	return map[string]any{"line1": "1 rue de la Paix", "postal_code": "75002", "city": city, "country": "FR"}
}

func TestProfileSettings(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t).AccessToken

	t.Run("a fresh profile shows the login, every weekday and every event type", func(t *testing.T) {
		m := me(t, e, tok)
		if m["login"] != "owner@acme.example" || m["language"] == "" {
			t.Fatalf("%v", m)
		}
		hours := m["working_hours"].(map[string]any)
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			if rs, ok := hours[d].([]any); !ok || len(rs) != 0 {
				t.Fatalf("%s: %v", d, hours[d])
			}
		}
		n := m["notifications"].(map[string]any)
		for _, id := range []string{"invitation_accepted", "password_changed", "api_key_expiring"} {
			if n[id].(map[string]any)["email"] != true {
				t.Fatalf("%s: %v", id, n[id])
			}
		}
		if m["mfa"].(map[string]any)["enabled"] != false {
			t.Fatalf("%v", m["mfa"])
		}
	})

	t.Run("a PATCH sets every setting and GET shows them", func(t *testing.T) {
		body := map[string]any{
			"first_name": "Ada", "last_name": "Lovelace", "language": "nl",
			"start_address": address("Paris"),
			"default_route": map[string]any{"from": address("Paris"), "to": address("Lyon")},
			"working_hours": map[string]any{
				"mon": []any{map[string]string{"start": "08:00", "end": "12:00"}, map[string]string{"start": "13:00", "end": "17:30"}},
				"fri": []any{map[string]string{"start": "09:00", "end": "24:00"}},
			},
			"notifications": map[string]any{"api_key_expiring": map[string]bool{"email": false}},
		}
		r := e.Do("PATCH", "/v1/me", tok, body)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		m := me(t, e, tok)
		if m["first_name"] != "Ada" || m["language"] != "nl" || m["start_address"].(map[string]any)["city"] != "Paris" {
			t.Fatalf("%v", m)
		}
		if m["default_route"].(map[string]any)["to"].(map[string]any)["city"] != "Lyon" {
			t.Fatalf("%v", m["default_route"])
		}
		mon := m["working_hours"].(map[string]any)["mon"].([]any)
		if len(mon) != 2 || mon[1].(map[string]any)["end"] != "17:30" {
			t.Fatalf("%v", mon)
		}
		n := m["notifications"].(map[string]any)
		if n["api_key_expiring"].(map[string]any)["email"] != false || n["password_changed"].(map[string]any)["email"] != true {
			t.Fatalf("%v", n)
		}
	})

	t.Run("a PATCH changes only the fields present, and null removes an address", func(t *testing.T) {
		r := e.Do("PATCH", "/v1/me", tok, `{"start_address": null, "notifications": {"password_changed": {"email": false}}}`)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		m := me(t, e, tok)
		if _, ok := m["start_address"]; ok {
			t.Fatalf("start address kept: %v", m["start_address"])
		}
		n := m["notifications"].(map[string]any)
		if m["first_name"] != "Ada" || m["default_route"] == nil || n["api_key_expiring"].(map[string]any)["email"] != false ||
			n["password_changed"].(map[string]any)["email"] != false {
			t.Fatalf("%v", m)
		}
	})

	t.Run("the change is in the audit trail with the fields changed", func(t *testing.T) {
		var page struct {
			Items []struct {
				Action string   `json:"action"`
				Fields []string `json:"fields"`
			} `json:"items"`
		}
		e.Do("GET", "/v1/audit", tok, nil).Decode(t, &page)
		var got [][]string
		for _, it := range page.Items {
			if it.Action == "user.profile" {
				got = append(got, it.Fields)
			}
		}
		if len(got) != 2 || !slices.Equal(got[0], []string{"start_address", "notifications"}) {
			t.Fatalf("%+v", page.Items)
		}
	})

	t.Run("a PATCH that changes nothing writes nothing", func(t *testing.T) {
		e.ResetCounters()
		if r := e.Do("PATCH", "/v1/me", tok, map[string]any{"first_name": "Ada"}); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		budget(t, e, route.Profile, map[string]int{"BatchGetItem": 1})
	})
}

func TestABadProfilePatchIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	tok := e.LoginOwner(t).AccessToken
	span := func(s, e string) map[string]string { return map[string]string{"start": s, "end": e} }
	hours := func(day string, rs ...map[string]string) map[string]any {
		return map[string]any{"working_hours": map[string]any{day: rs}}
	}
	cases := []struct {
		name   string
		body   any
		fields []string
	}{
		{"an hour that is not HH:MM", hours("mon", span("8:00", "12:00")), []string{"working_hours.mon[0].start"}},
		{"a minute past 59", hours("tue", span("08:00", "12:60")), []string{"working_hours.tue[0].end"}},
		{"a range ending before it starts", hours("wed", span("14:00", "13:00")), []string{"working_hours.wed[0].end"}},
		{"an empty range", hours("wed", span("14:00", "14:00")), []string{"working_hours.wed[0].end"}},
		{"overlapping ranges", hours("thu", span("08:00", "12:00"), span("11:30", "15:00")), []string{"working_hours.thu[1].start"}},
		{"ranges out of order", hours("fri", span("13:00", "17:00"), span("08:00", "12:00")), []string{"working_hours.fri[1].start"}},
		{"five ranges in a day", hours("sat", span("01:00", "02:00"), span("03:00", "04:00"), span("05:00", "06:00"),
			span("07:00", "08:00"), span("09:00", "10:00")), []string{"working_hours.sat"}},
		{"an unknown notification type", map[string]any{"notifications": map[string]any{"weekly_digest": map[string]bool{"email": true}}},
			[]string{"notifications.weekly_digest"}},
		{"an unknown language", map[string]any{"language": "de"}, []string{"language"}},
		{"an empty first name", map[string]any{"first_name": " "}, []string{"first_name"}},
		{"a null language", `{"language": null}`, []string{"language"}},
		{"an address without a city and a lower-case country",
			map[string]any{"start_address": map[string]any{"line1": "x", "postal_code": "1000", "country": "be"}},
			[]string{"start_address.city", "start_address.country"}},
		{"a route with a bad end", map[string]any{"default_route": map[string]any{"from": address("Paris"), "to": map[string]any{}}},
			[]string{"default_route.to.line1", "default_route.to.postal_code", "default_route.to.city", "default_route.to.country"}},
	}
	for _, c := range cases {
		t.Run("a PATCH with "+c.name+" is 422 naming the field", func(t *testing.T) {
			before := e.Scan(t)
			e.ResetCounters()
			got := fields(e.Do("PATCH", "/v1/me", tok, c.body), t, 422)
			if !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
			if n := e.Counters[route.Profile].Calls(); n != 0 {
				t.Fatalf("%d DynamoDB calls for a refused request", n)
			}
			if after := e.Scan(t); !slices.Equal(before, after) {
				t.Fatal("the table changed")
			}
		})
	}
	t.Run("an unknown day is 400 (strict JSON)", func(t *testing.T) {
		e.Do("PATCH", "/v1/me", tok, map[string]any{"working_hours": map[string]any{"someday": []any{}}}).Problem(t, 400)
	})
}

func TestChangeMyPassword(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "pat@acme.example", "member")
	current := e.Login(t, u.Email, apitest.UserPassword)
	other := e.Login(t, u.Email, apitest.UserPassword)
	change := func(tok, old, next string) *apitest.Response {
		return e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": old, "new_password": next})
	}

	t.Run("a wrong current password is 403 and changes nothing", func(t *testing.T) {
		if p := change(current.AccessToken, "not-my-password", "a-brand-new-secret").Problem(t, 403); p.Code != "invalid_password" {
			t.Fatal(p.Code)
		}
		e.Do("GET", "/v1/me", other.AccessToken, nil)
		e.Login(t, u.Email, apitest.UserPassword)
	})
	t.Run("a weak new password is 422", func(t *testing.T) {
		if got := fields(change(current.AccessToken, apitest.UserPassword, "password1"), t, 422); !slices.Equal(got, []string{"new_password"}) {
			t.Fatal(got)
		}
	})
	t.Run("changing ends every other session but not the current one, and mails a notice", func(t *testing.T) {
		if r := change(current.AccessToken, apitest.UserPassword, "a-brand-new-secret"); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if r := e.Do("GET", "/v1/me", current.AccessToken, nil); r.Status != 200 {
			t.Fatalf("current session ended: %d", r.Status)
		}
		if r := e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": current.RefreshToken}); r.Status != 200 {
			t.Fatalf("current refresh token ended: %d", r.Status)
		}
		e.Do("GET", "/v1/me", other.AccessToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": other.RefreshToken}).Problem(t, 401)
		e.Login(t, u.Email, "a-brand-new-secret")
		if m := e.LastMail(t, u.Email); !strings.Contains(m.Subject, "password was changed") {
			t.Fatalf("no notice: %q", m.Subject)
		}
	})
	t.Run("no notice goes to whom switched it off", func(t *testing.T) {
		tok := e.Login(t, u.Email, "a-brand-new-secret").AccessToken
		e.Do("PATCH", "/v1/me", tok, map[string]any{"notifications": map[string]any{"password_changed": map[string]bool{"email": false}}})
		n := e.MailsTo(u.Email)
		if r := change(tok, "a-brand-new-secret", "another-brand-new-one"); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if e.MailsTo(u.Email) != n {
			t.Fatal("a notice was sent")
		}
	})
	t.Run("wrong current passwords are rate limited, and the lock ends by itself", func(t *testing.T) {
		tok := e.Login(t, u.Email, "another-brand-new-one").AccessToken
		for range 5 { // the right password above started the count again
			change(tok, "wrong-wrong-wrong", "x-brand-new-secret").Problem(t, 403)
		}
		r := change(tok, "another-brand-new-one", "x-brand-new-secret")
		if p := r.Problem(t, 429); p.Code != "too_many_attempts" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %v", p.Code, r.Header)
		}
		e.Clock.Advance(16 * 60e9)
		tok = e.Login(t, u.Email, "another-brand-new-one").AccessToken
		if r := change(tok, "another-brand-new-one", "x-brand-new-secret"); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestAUsernameUserChangesItsPIN(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	r := e.Do("POST", "/v1/users", owner, map[string]any{"username": "jdoe", "first_name": "J", "last_name": "Doe",
		"role": "member", "password": "482915"})
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	lr := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "jdoe", "organization": "acme", "password": "482915"})
	var c challenge
	lr.Decode(t, &c)
	tok := c.AccessToken
	if c.Challenge == "password_change" {
		var tk apitest.Tokens
		e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": c.ChallengeToken, "new_password": "739164"}).Decode(t, &tk)
		tok = tk.AccessToken
	}
	pin := "739164"
	if c.Challenge != "password_change" {
		pin = "482915"
	}
	t.Run("a PIN must be six digits", func(t *testing.T) {
		e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": pin, "new_password": "a-long-passphrase"}).Problem(t, 422)
	})
	t.Run("a new PIN of six digits is taken", func(t *testing.T) {
		if r := e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": pin, "new_password": "615283"}); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a username user has no e-mail to change: 422", func(t *testing.T) {
		r := e.Do("POST", "/v1/me/email", tok, map[string]string{"new_email": "j@acme.example", "password": "615283"})
		if p := r.Problem(t, 422); p.Code != "no_email" {
			t.Fatal(p.Code)
		}
		if m := me(t, e, tok); m["login"] != "jdoe" {
			t.Fatalf("%v", m["login"])
		}
	})
	_ = context.Background()
}
