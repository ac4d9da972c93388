package apikeys_test

import (
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

// BenchmarkAuthorizerAPIKey measures a request made with an API key through
// the local gateway: the authorizer's one GetItem, and GET /v1/clients,
// which reads nothing. The key's use is recorded once (the clock does not
// move a minute during the run), so ddb-calls/op tends to 1.
func BenchmarkAuthorizerAPIKey(b *testing.B) { benchAPIKey(b, route.APIKeys, "/v1/clients") }

// BenchmarkAuthorizerAPIKeyMe is BenchmarkAuthorizerAPIKey on GET /v1/me,
// which reads the user and the organization.
func BenchmarkAuthorizerAPIKeyMe(b *testing.B) { benchAPIKey(b, route.Profile, "/v1/me") }

// benchAPIKey measures GET path, served by the function fn, made with an
// API key.
func benchAPIKey(b *testing.B, fn, path string) {
	e := apitest.New(b)
	owner := e.LoginOwner(b).AccessToken
	k := createKey(b, e, owner, keyBody("Bench", "internal", "users:read")).Secret
	e.StartBench(b)
	for range b.N {
		if r := e.Do("GET", path, k, nil); r.Status != 200 {
			b.Fatalf("status %d", r.Status)
		}
	}
	b.ReportMetric(float64(e.Calls())/float64(b.N), "ddb-calls/op")
	b.ReportMetric(float64(e.Counters[route.Authorizer].Calls())/float64(b.N), "authz-calls/op")
	e.ReportFloor(b, fn, "GET", path, k, nil)
}
