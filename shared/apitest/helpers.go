package apitest

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/route"
	"github.com/guichet/guichet/shared/store"
)

// AddUserLogin adds a user as AddUser does and logs them in, returning
// the user and their access token.
func (e *Env) AddUserLogin(t testing.TB, email, role string) (store.User, string) {
	t.Helper()
	u := e.AddUser(t, email, role)
	return u, e.Login(t, email, UserPassword).AccessToken
}

// Want fails t unless the answer has status, and returns its body decoded
// as a T; what names the request in the failure.
func Want[T any](t testing.TB, r *Response, status int, what string) T {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: %d %s", what, r.Status, r.Body)
	}
	var v T
	r.Decode(t, &v)
	return v
}

// Object fails t unless the answer has status, and returns its body as a
// JSON object (nil when the answer is not JSON).
func (r *Response) Object(t testing.TB, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%d, want %d: %.400s", r.Status, status, r.Body)
	}
	var v map[string]any
	if len(r.Body) > 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		r.Decode(t, &v)
	}
	return v
}

// LinkToken is the token a link (an invitation's, a reset's, an e-mail
// change's) carries in its query.
func LinkToken(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// SpecOf returns the spec of the function fn (a route.Specs entry; the
// zero Spec when there is none).
func SpecOf(fn string) route.Spec {
	for _, s := range route.Specs() {
		if s.Name == fn {
			return s
		}
	}
	return route.Spec{}
}

// OutsideSpec returns the DynamoDB actions the function fn has called
// since the counters were last reset that its spec does not grant.
func (e *Env) OutsideSpec(fn string) []string {
	spec := SpecOf(fn)
	var out []string
	for _, op := range e.Counters[fn].Operations() {
		if !slices.Contains(spec.DynamoDB, op) {
			out = append(out, op)
		}
	}
	return out
}
