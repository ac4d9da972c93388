package profile_test

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
)

func answer(e *apitest.Env, challengeToken, code string) *apitest.Response {
	return e.Do("POST", "/v1/auth/mfa", "", map[string]string{"challenge_token": challengeToken, "code": code})
}

// nextStep moves the clock to the next TOTP time step.
func nextStep(e *apitest.Env) { e.Clock.Advance(30 * time.Second) }

func TestTOTPEnrollment(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "tess@acme.example", "member")
	tok := e.Login(t, u.Email, apitest.UserPassword).AccessToken

	var st setup
	t.Run("starting gives a secret, its otpauth URI and a QR code", func(t *testing.T) {
		r := e.Do("POST", "/v1/me/mfa/totp", tok, nil)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &st)
		uri, err := url.Parse(st.URI)
		if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Query().Get("secret") != st.Secret ||
			uri.Query().Get("issuer") != "Guichet" || !strings.Contains(uri.Path, "tess@acme.example") {
			t.Fatalf("%s", st.URI)
		}
		img, err := png.Decode(bytes.NewReader(st.QRPNG))
		if err != nil || img.Bounds().Dx() < 100 {
			t.Fatalf("QR code: %v", err)
		}
	})
	t.Run("the secret is not in the table in clear", func(t *testing.T) {
		dump := strings.Join(e.Scan(t), "\n")
		if strings.Contains(dump, st.Secret) {
			t.Fatal("secret in clear")
		}
	})
	t.Run("a wrong code does not confirm", func(t *testing.T) {
		wrong := "000000"
		if wrong == code(e, st.Secret) {
			wrong = "111111"
		}
		if p := e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": wrong, "current_password": apitest.UserPassword}).Problem(t, 403); p.Code != "invalid_code" {
			t.Fatal(p.Code)
		}
		if m := me(t, e, tok); m["mfa"].(map[string]any)["enabled"] != false {
			t.Fatal("enabled")
		}
	})
	var codes []string
	t.Run("a code computed by another implementation confirms, and ten recovery codes come once", func(t *testing.T) {
		r := e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code(e, st.Secret), "current_password": apitest.UserPassword})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var rc struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		r.Decode(t, &rc)
		codes = rc.RecoveryCodes
		if len(codes) != 10 {
			t.Fatalf("%v", codes)
		}
		if m := me(t, e, tok); m["mfa"].(map[string]any)["enabled"] != true {
			t.Fatal("not enabled")
		}
		dump := strings.Join(e.Scan(t), "\n")
		for _, c := range codes {
			if strings.Contains(dump, c) || strings.Contains(dump, strings.ReplaceAll(c, "-", "")) {
				t.Fatal("recovery code in clear")
			}
		}
	})
	t.Run("enrolling again while on is 409", func(t *testing.T) {
		e.Do("POST", "/v1/me/mfa/totp", tok, nil).Problem(t, 409)
	})

	nextStep(e)
	t.Run("login asks for a code, and a right code gives tokens", func(t *testing.T) {
		c := login(t, e, u.Email, apitest.UserPassword)
		if c.Challenge != "mfa" || c.ChallengeToken == "" || c.AccessToken != "" || c.ExpiresIn <= 0 {
			t.Fatalf("%+v", c)
		}
		e.Do("GET", "/v1/me", c.ChallengeToken, nil).Problem(t, 401)
		var tk apitest.Tokens
		r := answer(e, c.ChallengeToken, code(e, st.Secret))
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &tk)
		if r := e.Do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
			t.Fatal(r.Status)
		}
		t.Run("the challenge is spent", func(t *testing.T) {
			answer(e, c.ChallengeToken, code(e, st.Secret)).Problem(t, 401)
		})
	})
	t.Run("a code cannot be used twice", func(t *testing.T) {
		c := login(t, e, u.Email, apitest.UserPassword)
		if p := answer(e, c.ChallengeToken, code(e, st.Secret)).Problem(t, 403); p.Code != "code_used" {
			t.Fatal(p.Code)
		}
		nextStep(e)
		if r := answer(e, c.ChallengeToken, code(e, st.Secret)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a recovery code works once", func(t *testing.T) {
		c := login(t, e, u.Email, apitest.UserPassword)
		if r := answer(e, c.ChallengeToken, strings.ToUpper(codes[0])); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		c = login(t, e, u.Email, apitest.UserPassword)
		if p := answer(e, c.ChallengeToken, codes[0]).Problem(t, 403); p.Code != "invalid_code" {
			t.Fatal(p.Code)
		}
		if r := answer(e, c.ChallengeToken, codes[1]); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("wrong codes are rate limited, and the lock ends by itself", func(t *testing.T) {
		e.Clock.Advance(16 * time.Minute) // a fresh window: one code was wrong above
		c := login(t, e, u.Email, apitest.UserPassword)
		for i := range 5 {
			if p := answer(e, c.ChallengeToken, "12345"+string(rune('0'+i))).Problem(t, 403); p.Code != "invalid_code" && p.Code != "code_used" {
				t.Fatal(p.Code)
			}
		}
		nextStep(e)
		r := answer(e, c.ChallengeToken, code(e, st.Secret))
		if p := r.Problem(t, 429); p.Code != "too_many_codes" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s %v", p.Code, r.Header)
		}
		t.Run("a new login does not reset the count", func(t *testing.T) {
			c2 := login(t, e, u.Email, apitest.UserPassword)
			answer(e, c2.ChallengeToken, code(e, st.Secret)).Problem(t, 429)
		})
		e.Clock.Advance(15 * time.Minute)
		c = login(t, e, u.Email, apitest.UserPassword)
		if r := answer(e, c.ChallengeToken, code(e, st.Secret)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("turning it off needs the password and a code", func(t *testing.T) {
		nextStep(e)
		c := login(t, e, u.Email, apitest.UserPassword) // the first session's access token has expired
		var tk apitest.Tokens
		answer(e, c.ChallengeToken, code(e, st.Secret)).Decode(t, &tk)
		tok = tk.AccessToken
		nextStep(e)
		off := func(pw, c string) *apitest.Response {
			return e.Do("DELETE", "/v1/me/mfa/totp", tok, map[string]string{"password": pw, "code": c})
		}
		if p := off("wrong-password-x", code(e, st.Secret)).Problem(t, 403); p.Code != "invalid_password" {
			t.Fatal(p.Code)
		}
		if p := off(apitest.UserPassword, codes[0]).Problem(t, 403); p.Code != "invalid_code" {
			t.Fatal(p.Code)
		}
		if r := off(apitest.UserPassword, codes[2]); r.Status != 204 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if c := login(t, e, u.Email, apitest.UserPassword); c.AccessToken == "" {
			t.Fatalf("still asks: %+v", c)
		}
		off(apitest.UserPassword, codes[3]).Problem(t, 409)
		dump := strings.Join(e.Scan(t), "\n")
		if strings.Contains(dump, "MFARC#") || strings.Contains(dump, "mfa_secret") {
			t.Fatal("recovery codes or secret left behind")
		}
	})
	t.Run("it can be turned on again, with new codes", func(t *testing.T) {
		_, again := enroll(t, e, tok)
		if len(again) != 10 || again[0] == codes[0] {
			t.Fatal(again)
		}
	})
}

func TestMFAAndPasswordChangeChallengesComeInOrder(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "order@acme.example", "member")
	tok := e.Login(t, u.Email, apitest.UserPassword).AccessToken
	secret, _ := enroll(t, e, tok)
	// An administrator asks for a password change at next login.
	ctx := context.Background()
	cur, err := e.Store.GetUser(ctx, u.Org, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.RequirePasswordChange = true
	if err := e.Store.ChangeUser(ctx, store.UserChange{Old: cur, New: &next,
		Audit: store.Audit{Org: u.Org, Time: time.Now(), Actor: "test", Via: "test", Action: "user.update", Target: "user:" + u.ID}}); err != nil {
		t.Fatal(err)
	}
	nextStep(e)
	c := login(t, e, u.Email, apitest.UserPassword)
	if c.Challenge != "mfa" {
		t.Fatalf("first step %q, want mfa", c.Challenge)
	}
	var pc challenge
	answer(e, c.ChallengeToken, code(e, secret)).Decode(t, &pc)
	if pc.Challenge != "password_change" || pc.AccessToken != "" {
		t.Fatalf("second step %+v, want password_change", pc)
	}
	var tk apitest.Tokens
	r := e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": pc.ChallengeToken, "new_password": "a-brand-new-secret"})
	r.Decode(t, &tk)
	if r.Status != 200 || tk.AccessToken == "" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}

func TestOrganizationRequiresMFA(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.LoginOwner(t).AccessToken
	admin := e.AddUser(t, "ada@acme.example", "admin")
	member := e.AddUser(t, "mel@acme.example", "member")

	t.Run("an unknown role is 422", func(t *testing.T) {
		got := fields(e.Do("PATCH", "/v1/organization", owner, map[string]any{"mfa_required_for": []string{"admin", "rol_nosuchrole"}}), t, 422)
		if len(got) != 1 || got[0] != "mfa_required_for[1]" {
			t.Fatal(got)
		}
	})
	t.Run("the policy is set and shown", func(t *testing.T) {
		r := e.Do("PATCH", "/v1/organization", owner, map[string]any{"mfa_required_for": []string{"admin"}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"mfa_required_for":["admin"]`) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a member logs in as before", func(t *testing.T) {
		e.Login(t, member.Email, apitest.UserPassword)
	})
	c := login(t, e, admin.Email, apitest.UserPassword)
	t.Run("an admin without MFA gets an enrollment challenge, not tokens", func(t *testing.T) {
		if c.Challenge != "mfa_enrollment" || c.ChallengeToken == "" || c.AccessToken != "" {
			t.Fatalf("%+v", c)
		}
		e.Do("GET", "/v1/me", c.ChallengeToken, nil).Problem(t, 401)
		e.Do("POST", "/v1/me/mfa/totp", c.ChallengeToken, nil).Problem(t, 401)
		answer(e, c.ChallengeToken, "123456").Problem(t, 401)
	})
	var st setup
	t.Run("the challenge token enrolls an authenticator", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/mfa/enroll", "", map[string]string{"challenge_token": c.ChallengeToken})
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.Decode(t, &st)
		if !strings.HasPrefix(st.URI, "otpauth://totp/") || len(st.QRPNG) == 0 {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("a wrong code is refused", func(t *testing.T) {
		wrong := "000000"
		if wrong == code(e, st.Secret) {
			wrong = "111111"
		}
		e.Do("POST", "/v1/auth/mfa/enroll/confirm", "", map[string]string{"challenge_token": c.ChallengeToken, "code": wrong}).Problem(t, 403)
	})
	t.Run("confirming gives recovery codes and tokens", func(t *testing.T) {
		r := e.Do("POST", "/v1/auth/mfa/enroll/confirm", "", map[string]string{"challenge_token": c.ChallengeToken, "code": code(e, st.Secret)})
		var out struct {
			RecoveryCodes []string `json:"recovery_codes"`
			AccessToken   string   `json:"access_token"`
		}
		r.Decode(t, &out)
		if r.Status != 200 || len(out.RecoveryCodes) != 10 || out.AccessToken == "" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		m := me(t, e, out.AccessToken)
		if mf := m["mfa"].(map[string]any); mf["enabled"] != true || mf["required"] != true {
			t.Fatalf("%v", mf)
		}
		t.Run("the challenge is spent", func(t *testing.T) {
			e.Do("POST", "/v1/auth/mfa/enroll", "", map[string]string{"challenge_token": c.ChallengeToken}).Problem(t, 401)
		})
		t.Run("turning it off is refused while required", func(t *testing.T) {
			r := e.Do("DELETE", "/v1/me/mfa/totp", out.AccessToken, map[string]string{"password": apitest.UserPassword, "code": out.RecoveryCodes[0]})
			if p := r.Problem(t, 409); p.Code != "mfa_required" {
				t.Fatal(p.Code)
			}
		})
	})
	t.Run("the next login asks for a code", func(t *testing.T) {
		nextStep(e)
		c := login(t, e, admin.Email, apitest.UserPassword)
		if c.Challenge != "mfa" {
			t.Fatalf("%+v", c)
		}
		if r := answer(e, c.ChallengeToken, code(e, st.Secret)); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("a required password change comes before the enrollment", func(t *testing.T) {
		fresh := e.AddUser(t, "newadmin@acme.example", "admin")
		ctx := context.Background()
		next := fresh
		next.RequirePasswordChange = true
		cur, _ := e.Store.GetUser(ctx, fresh.Org, fresh.ID)
		if err := e.Store.ChangeUser(ctx, store.UserChange{Old: cur, New: &next,
			Audit: store.Audit{Org: fresh.Org, Time: time.Now(), Actor: "test", Via: "test", Action: "user.update", Target: "user:" + fresh.ID}}); err != nil {
			t.Fatal(err)
		}
		c := login(t, e, fresh.Email, apitest.UserPassword)
		if c.Challenge != "password_change" {
			t.Fatalf("%+v", c)
		}
		var then challenge
		e.Do("POST", "/v1/auth/password-change", "", map[string]string{"challenge_token": c.ChallengeToken, "new_password": "a-brand-new-secret"}).Decode(t, &then)
		if then.Challenge != "mfa_enrollment" || then.AccessToken != "" {
			t.Fatalf("%+v", then)
		}
		e.Login(t, member.Email, apitest.UserPassword)
		if c := login(t, e, fresh.Email, "a-brand-new-secret"); c.Challenge != "mfa_enrollment" {
			t.Fatalf("%+v", c)
		}
	})
}

// TestDynamoDBCallsOfProfileAndMFA keeps each request's DynamoDB calls
// within its budget, by action.
func TestDynamoDBCallsOfProfileAndMFA(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "budget@acme.example", "member")
	tok := e.Login(t, u.Email, apitest.UserPassword).AccessToken
	var secret string
	var ch challenge
	cases := []struct {
		name string
		fn   string
		do   func() *apitest.Response
		want map[string]int
	}{
		{"reading one's profile is one BatchGetItem", route.Profile, func() *apitest.Response {
			return e.Do("GET", "/v1/me", tok, nil)
		}, map[string]int{"BatchGetItem": 1}},
		{"changing it is one BatchGetItem and one transaction", route.Profile, func() *apitest.Response {
			return e.Do("PATCH", "/v1/me", tok, map[string]any{"first_name": "Bud"})
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"listing sessions is one Query", route.Profile, func() *apitest.Response {
			return e.Do("GET", "/v1/me/sessions", tok, nil)
		}, map[string]int{"Query": 1}},
		{"asking for an e-mail change is one BatchGetItem, the password attempt counted and released, and one transaction", route.Profile, func() *apitest.Response {
			return requestEmail(e, tok, "budget2@acme.example", apitest.UserPassword)
		}, map[string]int{"BatchGetItem": 1, "UpdateItem": 2, "TransactWriteItems": 2}}, // the mail limit's, then the change's
		{"confirming it is two GetItem (the link, the person), one BatchGetItem, one Query (the links it ends) and one transaction", route.Profile, func() *apitest.Response {
			return confirmEmail(e, apitest.LinkToken(t, e.LastMail(t, "budget2@acme.example").Links[0]))
		}, map[string]int{"GetItem": 2, "BatchGetItem": 1, "Query": 1, "TransactWriteItems": 2}}, // the change's, then the notice's limit
		{"starting an enrollment is one BatchGetItem and one transaction", route.Profile, func() *apitest.Response {
			r := e.Do("POST", "/v1/me/mfa/totp", tok, nil)
			var st setup
			r.Decode(t, &st)
			secret = st.Secret
			return r
		}, map[string]int{"BatchGetItem": 1, "TransactWriteItems": 1}},
		{"confirming it is one BatchGetItem, the password and code attempts counted and released, the person read (GetItem), and one transaction", route.Profile, func() *apitest.Response {
			return e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code(e, secret), "current_password": apitest.UserPassword})
		}, map[string]int{"BatchGetItem": 1, "GetItem": 1, "UpdateItem": 4, "TransactWriteItems": 1}},
		{"a login asking for a code is two BatchGetItem, the attempt counted and released, and one transaction (the challenge, on the condition that the user is active)", route.Auth, func() *apitest.Response {
			nextStep(e)
			r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": "budget2@acme.example", "password": apitest.UserPassword})
			r.Decode(t, &ch)
			return r
		}, map[string]int{"BatchGetItem": 2, "UpdateItem": 2, "TransactWriteItems": 1}},
		{"the code step is one GetItem, one BatchGetItem, the code attempt counted and released, and one transaction", route.Auth, func() *apitest.Response {
			return answer(e, ch.ChallengeToken, code(e, secret))
		}, map[string]int{"GetItem": 1, "BatchGetItem": 1, "UpdateItem": 2, "TransactWriteItems": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.ResetCounters()
			if r := c.do(); r.Status >= 300 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			budget(t, e, c.fn, c.want)
		})
	}
}

// After exercising every route of the profile function and the MFA routes
// of the auth function, each has called only the actions of its spec.
func TestProfileAndAuthCallOnlyTheActionsOfTheirSpec(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	u := e.AddUser(t, "spec@acme.example", "member")
	tk := e.Login(t, u.Email, apitest.UserPassword)
	tok := tk.AccessToken
	e.Login(t, u.Email, apitest.UserPassword)
	e.ResetCounters()
	e.Do("GET", "/v1/me", tok, nil)
	e.Do("PATCH", "/v1/me", tok, map[string]any{"language": "fr"})
	e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": "wrong-wrong-wrong", "new_password": "a-brand-new-secret"})
	e.Do("POST", "/v1/me/password", tok, map[string]string{"current_password": apitest.UserPassword, "new_password": "a-brand-new-secret"})
	requestEmail(e, tok, "spec2@acme.example", "a-brand-new-secret")
	confirmEmail(e, apitest.LinkToken(t, e.LastMail(t, "spec2@acme.example").Links[0]))
	e.Do("GET", "/v1/me/sessions", tok, nil)
	e.Do("DELETE", "/v1/me/sessions/ses_nosuchsession", tok, nil)
	e.Do("DELETE", "/v1/me/sessions", tok, nil)
	secret, codes := enrollWith(t, e, tok, "a-brand-new-secret")
	e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": "000000", "current_password": "a-brand-new-secret"})
	nextStep(e)
	c := login(t, e, "spec2@acme.example", "a-brand-new-secret")
	answer(e, c.ChallengeToken, "000000")
	answer(e, c.ChallengeToken, code(e, secret))
	c = login(t, e, "spec2@acme.example", "a-brand-new-secret")
	answer(e, c.ChallengeToken, codes[0])
	e.Do("DELETE", "/v1/me/mfa/totp", tok, map[string]string{"password": "a-brand-new-secret", "code": "000000"})
	e.Do("DELETE", "/v1/me/mfa/totp", tok, map[string]string{"password": "a-brand-new-secret", "code": codes[1]})
	for _, fn := range []string{route.Profile, route.Auth} {
		spec := specOf(fn)
		for _, op := range e.Counters[fn].Operations() {
			if !has(spec, op) {
				t.Errorf("%s called %s, outside its spec %v", fn, op, spec)
			}
		}
	}
}

// BenchmarkMFALogin logs a user with two-step verification in: the
// password step and the code step, through the local gateway.
func BenchmarkMFALogin(b *testing.B) {
	e := apitest.New(b, apitest.ProductionHashing)
	u := e.AddUser(b, "bench@acme.example", "member")
	tok := e.Login(b, u.Email, apitest.UserPassword).AccessToken
	secret, _ := enroll(b, e, tok)
	e.ResetCounters()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		nextStep(e) // each login uses a fresh time step: codes work once
		c := login(b, e, u.Email, apitest.UserPassword)
		if r := answer(e, c.ChallengeToken, code(e, secret)); r.Status != 200 {
			b.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	b.ReportMetric(float64(e.Calls())/float64(b.N), "ddb-calls/op")
}
