package profile_test

import (
	"slices"
	"testing"

	"github.com/xlzd/gotp"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

// me reads GET /v1/me.
func me(t testing.TB, e *apitest.Env, tok string) map[string]any {
	t.Helper()
	r := e.Do("GET", "/v1/me", tok, nil)
	if r.Status != 200 {
		t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
	}
	var m map[string]any
	r.Decode(t, &m)
	return m
}

// fields lists the field names of a problem's errors.
func fields(r *apitest.Response, t testing.TB, status int) []string {
	t.Helper()
	p := r.Problem(t, status)
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// code is the current TOTP code of secret at the stack's clock, computed
// by gotp: an implementation independent of the one under test.
func code(e *apitest.Env, secret string) string {
	return gotp.NewDefaultTOTP(secret).At(e.Clock.Now().Unix())
}

// challenge is a login answer asking for another step.
type challenge struct {
	Challenge      string `json:"challenge"`
	ChallengeToken string `json:"challenge_token"`
	ExpiresIn      int    `json:"expires_in"`
	AccessToken    string `json:"access_token"`
}

func login(t testing.TB, e *apitest.Env, email, pw string) challenge {
	t.Helper()
	r := e.Do("POST", "/v1/auth/login", "", map[string]string{"login": email, "password": pw})
	if r.Status != 200 {
		t.Fatalf("login %s: %d %s", email, r.Status, r.Body)
	}
	var c challenge
	r.Decode(t, &c)
	return c
}

// setup is the answer to an enrollment start.
type setup struct {
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QRPNG  []byte `json:"qr_png"`
}

// enroll turns two-step verification on for the holder of tok, a user
// made by AddUser, and returns the secret and the recovery codes.
func enroll(t testing.TB, e *apitest.Env, tok string) (string, []string) {
	return enrollWith(t, e, tok, apitest.UserPassword)
}

// enrollWith is enroll for the holder of tok whose password is pw.
func enrollWith(t testing.TB, e *apitest.Env, tok, pw string) (string, []string) {
	t.Helper()
	var st setup
	r := e.Do("POST", "/v1/me/mfa/totp", tok, nil)
	if r.Status != 200 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &st)
	r = e.Do("POST", "/v1/me/mfa/totp/confirm", tok, map[string]string{"code": code(e, st.Secret), "current_password": pw})
	if r.Status != 200 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.Decode(t, &rc)
	return st.Secret, rc.RecoveryCodes
}

// callsOf is the set of DynamoDB actions a function called since the
// last reset (each counted once).
func callsOf(e *apitest.Env, fn string) map[string]int {
	got := map[string]int{}
	for _, op := range e.Counters[fn].Operations() {
		got[op]++
	}
	return got
}

// budget checks that fn called exactly the actions of want, as many
// times in all as want sums to.
func budget(t testing.TB, e *apitest.Env, fn string, want map[string]int) {
	t.Helper()
	got, total := callsOf(e, fn), 0
	for op, n := range want {
		total += n
		if got[op] == 0 {
			t.Fatalf("no %s: called %v, want %v", op, got, want)
		}
	}
	if len(got) != len(want) || e.Counters[fn].Calls() != total {
		t.Fatalf("%d calls of %v, want %v", e.Counters[fn].Calls(), got, want)
	}
}

func specOf(fn string) []string {
	for _, s := range route.Specs() {
		if s.Name == fn {
			return s.DynamoDB
		}
	}
	return nil
}

func has(xs []string, x string) bool { return slices.Contains(xs, x) }
