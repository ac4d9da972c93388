package gateway_test

import (
	"testing"

	"github.com/guichet/guichet/shared/apitest"
	"github.com/guichet/guichet/shared/route"
)

// report adds DynamoDB calls per operation to a benchmark's figures.
func report(b *testing.B, e *apitest.Env) {
	b.ReportMetric(float64(e.Calls())/float64(b.N), "ddb-calls/op")
	b.ReportMetric(float64(e.Counters[route.Authorizer].Calls())/float64(b.N), "authz-calls/op")
}

// BenchmarkAuthorizer measures an authorized request through the local
// gateway: the authorizer's one GetItem plus the cheapest authorized
// route (GET /v1/me, two reads).
func BenchmarkAuthorizer(b *testing.B) {
	e := apitest.New(b)
	tok := e.LoginOwner(b)
	e.ResetCounters()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := e.Do("GET", "/v1/me", tok.AccessToken, nil); r.Status != 200 {
			b.Fatalf("status %d", r.Status)
		}
	}
	report(b, e)
}

// BenchmarkLogin measures a successful login through the local gateway;
// argon2id (19 MiB, t=2) dominates it by design.
func BenchmarkLogin(b *testing.B) {
	e := apitest.New(b)
	body := map[string]string{"login": "owner@acme.example", "password": apitest.OwnerPassword}
	e.ResetCounters()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := e.Do("POST", "/v1/auth/login", "", body); r.Status != 200 {
			b.Fatalf("status %d", r.Status)
		}
	}
	report(b, e)
}
